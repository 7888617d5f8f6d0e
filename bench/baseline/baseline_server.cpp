// baseline_server: the one-core ceiling the benchmark compares redge against.
//
// A minimal HTTP/1.1 keep-alive "hello world" server on libuv + llhttp and
// nothing else: no router, no headers kept, no Date, no metrics. Whatever redge
// spends above this server's CPU per request is the price of its features.
//
// How one read is served (the pattern redge's own server follows):
//   1. libuv reads into one server-wide buffer (safe: the loop is
//      single-threaded and the bytes are fully parsed before the read callback
//      returns, and llhttp keeps no pointers into them because no data
//      callbacks are installed);
//   2. llhttp parses every byte of the read; each complete request appends the
//      fixed response to the connection's pending output;
//   3. after the whole read is parsed, ONE uv_write sends every response, so a
//      pipelined batch of N requests costs one read and one write system call.
//
// A parse error closes the connection at once. A request that asks for
// `Connection: close` (or HTTP/1.0 without keep-alive) is answered, then the
// connection is closed when that write completes; bytes after it are ignored.
//
// With a second argument, OBJECT_BYTES, every request is answered instead with
// a body of that many bytes and `Cache-Control: max-age=3600`: the object the
// gateway-cache bench cases put behind a caching proxy (and the one-core
// ceiling of serving it). The answer is built once at start, so both modes
// cost the same per request apart from the bytes written.
//
// Usage: baseline_server PORT [OBJECT_BYTES]
//        (binds 127.0.0.1; stop it with SIGTERM/SIGINT)

#include <llhttp.h>
#include <uv.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

constexpr std::string_view kHelloResponse =
    "HTTP/1.1 200 OK\r\n"
    "Content-Length: 11\r\n"
    "Content-Type: text/plain\r\n"
    "\r\n"
    "hello world";

// The cacheable object's answer: OBJECT_BYTES of 'x', fresh for an hour.
std::string objectResponse(size_t bytes) {
  std::string r =
      "HTTP/1.1 200 OK\r\n"
      "Content-Type: application/octet-stream\r\n"
      "Cache-Control: max-age=3600\r\n"
      "Content-Length: " +
      std::to_string(bytes) + "\r\n\r\n";
  r.append(bytes, 'x');
  return r;
}

// Big enough for a deep pipeline of small requests in one read; libuv reads
// at most this much per callback and calls again for the rest.
constexpr size_t kReadBufferBytes = 64 * 1024;
constexpr int kListenBacklog = 4096;
// Write requests kept for reuse; more than this in the pool are freed.
constexpr size_t kMaxPooledWrites = 1024;

class Server;
class Connection;

// One write in flight. It owns its bytes until its callback runs (libuv reads
// the buffer asynchronously), and goes back to the server's pool afterwards so
// that steady-state serving allocates nothing.
struct WriteRequest {
  uv_write_t req;  // req.data points back at this WriteRequest
  Connection* conn = nullptr;
  std::string bytes;
};

// One accepted TCP connection. Owned by itself: created on accept, freed in
// the close callback of its handle, after libuv has cancelled (and called back)
// any write still in flight.
class Connection {
 public:
  explicit Connection(Server& server);

  // Starts reading from an accepted handle (already initialised by the server).
  void start();
  // Idempotent: the handle is closed once; `this` is freed in onCloseCb.
  void close();

  uv_tcp_t* handle() { return &tcp_; }

  static void onReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept;
  static void onWriteCb(uv_write_t* req, int status) noexcept;
  static void onCloseCb(uv_handle_t* handle) noexcept;
  static int onMessageCompleteCb(llhttp_t* parser) noexcept;

 private:
  void onRead(ssize_t nread, const uv_buf_t* buf);
  void onMessageComplete();
  void flush();

  Server& server_;
  uv_tcp_t tcp_{};
  llhttp_t parser_{};
  // Responses produced while parsing the current read, sent by flush().
  WriteRequest* pending_ = nullptr;
  // Set when a request asked to close: answer it, stop parsing, close after
  // the write completes.
  bool closeAfterWrite_ = false;
  bool closing_ = false;
};

class Server {
 public:
  Server(uv_loop_t* loop, std::string response) : loop_(loop), response_(std::move(response)) {
    llhttp_settings_init(&settings_);
    settings_.on_message_complete = Connection::onMessageCompleteCb;
  }

  // Binds 127.0.0.1:port and starts accepting. Returns a libuv error code.
  int listen(int port) {
    int rc = uv_tcp_init(loop_, &listener_);
    if (rc != 0) return rc;
    listener_.data = this;
    sockaddr_in addr{};
    rc = uv_ip4_addr("127.0.0.1", port, &addr);
    if (rc == 0) rc = uv_tcp_bind(&listener_, reinterpret_cast<const sockaddr*>(&addr), 0);
    if (rc == 0)
      rc = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_), kListenBacklog, onConnectionCb);
    return rc;
  }

  uv_loop_t* loop() { return loop_; }
  std::string_view response() const { return response_; }
  const llhttp_settings_t* settings() const { return &settings_; }

  // The shared read buffer: see the file comment for why one is enough.
  static void onAllocCb(uv_handle_t*, size_t, uv_buf_t* buf) noexcept {
    static char storage[kReadBufferBytes];
    *buf = uv_buf_init(storage, sizeof(storage));
  }

  WriteRequest* takeWrite() {
    if (writePool_.empty()) return new WriteRequest();
    WriteRequest* w = writePool_.back().release();
    writePool_.pop_back();
    return w;
  }

  void returnWrite(WriteRequest* w) {
    if (writePool_.size() >= kMaxPooledWrites) {
      delete w;
      return;
    }
    w->bytes.clear();  // keeps capacity: the next batch reuses the memory
    writePool_.emplace_back(w);
  }

 private:
  static void onConnectionCb(uv_stream_t* listener, int status) noexcept {
    auto* self = static_cast<Server*>(listener->data);
    if (!self || status < 0) return;
    self->onConnection();
  }

  void onConnection() {
    auto* conn = new Connection(*this);
    uv_tcp_init(loop_, conn->handle());
    if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_),
                  reinterpret_cast<uv_stream_t*>(conn->handle())) != 0) {
      conn->close();
      return;
    }
    // Like nginx's default tcp_nodelay: a response leaves as soon as written.
    uv_tcp_nodelay(conn->handle(), 1);
    conn->start();
  }

  uv_loop_t* loop_;
  // The answer to every request (see the file comment).
  const std::string response_;
  uv_tcp_t listener_{};
  llhttp_settings_t settings_{};
  std::vector<std::unique_ptr<WriteRequest>> writePool_;
};

Connection::Connection(Server& server) : server_(server) {
  tcp_.data = this;
  llhttp_init(&parser_, HTTP_REQUEST, server_.settings());
  parser_.data = this;
}

void Connection::start() {
  uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), Server::onAllocCb, onReadCb);
}

void Connection::close() {
  if (closing_) return;
  closing_ = true;
  if (pending_) {
    server_.returnWrite(pending_);
    pending_ = nullptr;
  }
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), onCloseCb);
}

void Connection::onReadCb(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) noexcept {
  auto* self = static_cast<Connection*>(stream->data);
  if (!self) return;
  self->onRead(nread, buf);
}

void Connection::onRead(ssize_t nread, const uv_buf_t* buf) {
  if (nread == 0) return;  // EAGAIN: nothing to do
  if (nread < 0) {         // UV_EOF or a socket error
    close();
    return;
  }
  if (closing_ || closeAfterWrite_) return;  // bytes after `Connection: close`

  const llhttp_errno_t err = llhttp_execute(&parser_, buf->base, static_cast<size_t>(nread));
  // HPE_PAUSED means onMessageComplete saw a request that closes the
  // connection: answer what was parsed so far, then close.
  if (err != HPE_OK && err != HPE_PAUSED) {
    close();
    return;
  }
  flush();
}

int Connection::onMessageCompleteCb(llhttp_t* parser) noexcept {
  auto* self = static_cast<Connection*>(parser->data);
  if (!self) return HPE_USER;
  self->onMessageComplete();
  return self->closeAfterWrite_ ? HPE_PAUSED : HPE_OK;
}

void Connection::onMessageComplete() {
  if (!pending_) pending_ = server_.takeWrite();
  pending_->bytes.append(server_.response());
  if (!llhttp_should_keep_alive(&parser_)) closeAfterWrite_ = true;
}

void Connection::flush() {
  if (!pending_) return;  // a partial request: wait for the rest
  WriteRequest* w = pending_;
  pending_ = nullptr;
  w->req.data = w;
  w->conn = this;
  uv_buf_t buf = uv_buf_init(w->bytes.data(), static_cast<unsigned>(w->bytes.size()));
  if (uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&tcp_), &buf, 1, onWriteCb) != 0) {
    server_.returnWrite(w);
    close();
  }
}

void Connection::onWriteCb(uv_write_t* req, int status) noexcept {
  // The connection is still alive here even if it is closing: libuv runs the
  // cancelled write callbacks (status UV_ECANCELED) before the close callback.
  auto* w = static_cast<WriteRequest*>(req->data);
  if (!w) return;
  Connection* self = w->conn;
  w->conn = nullptr;
  self->server_.returnWrite(w);
  if (status < 0 || self->closeAfterWrite_) self->close();
}

void Connection::onCloseCb(uv_handle_t* handle) noexcept {
  delete static_cast<Connection*>(handle->data);
}

void onSignalCb(uv_signal_t* signal, int) noexcept {
  uv_stop(signal->loop);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: %s PORT [OBJECT_BYTES]\n", argv[0]);
    return 2;
  }
  char* end = nullptr;
  const long port = std::strtol(argv[1], &end, 10);
  if (*argv[1] == '\0' || *end != '\0' || port <= 0 || port > 65535) {
    std::fprintf(stderr, "baseline_server: bad port '%s'\n", argv[1]);
    return 2;
  }

  std::string response(kHelloResponse);
  if (argc == 3) {
    const long bytes = std::strtol(argv[2], &end, 10);
    if (*argv[2] == '\0' || *end != '\0' || bytes < 0 || bytes > (64L << 20)) {
      std::fprintf(stderr, "baseline_server: bad OBJECT_BYTES '%s'\n", argv[2]);
      return 2;
    }
    response = objectResponse(static_cast<size_t>(bytes));
  }

  uv_loop_t* loop = uv_default_loop();
  Server server(loop, std::move(response));
  if (int rc = server.listen(static_cast<int>(port)); rc != 0) {
    std::fprintf(stderr, "baseline_server: listen 127.0.0.1:%ld: %s\n", port, uv_strerror(rc));
    return 1;
  }

  // SIGTERM/SIGINT stop the loop; the process then exits and the kernel
  // reclaims the connections (a benchmark peer needs no graceful drain).
  uv_signal_t sigterm, sigint;
  uv_signal_init(loop, &sigterm);
  uv_signal_init(loop, &sigint);
  uv_signal_start(&sigterm, onSignalCb, SIGTERM);
  uv_signal_start(&sigint, onSignalCb, SIGINT);

  std::fprintf(stderr, "baseline_server: listening on 127.0.0.1:%ld\n", port);
  uv_run(loop, UV_RUN_DEFAULT);
  return 0;
}
