// libFuzzer target for the HTTP request path, without sockets. llhttp runs
// in strict mode (no lenient flag) over the input, as a connection drives it:
// its callbacks fill one reused redge HttpRequest (target, header name and
// value pieces, body), and at the end of the head the Router matches the
// path, which is then percent-decoded like a handler would.
//
// The first input bytes choose how the rest, the wire bytes, is cut:
//   byte 0, bits 0-2: number of cut lengths that follow (0..7)
//   byte 0, bit 3:    pause the parser after every request, as a connection
//                     with too many answers pending does, and resume it on
//                     the unparsed rest of the chunk
//   next bytes:       the cut lengths, one byte each
// The wire is parsed whole, in those chunks, and one byte at a time. All
// three must produce the same requests (method, version, target, every
// header, body, keep-alive, route, decoded path) and stop with the same
// error at the same offset. Independently, each HttpRequest is checked
// against a model that collects whole fields at llhttp's value-complete
// callback (trailing whitespace trimmed, trailers kept out of the header
// section), and each route match against the route table: a found route fits
// the method and rebuilds the path from its captures, and every method a 405
// allows is really accepted. Anything else traps.

#include <llhttp.h>
#include <strings.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/uri.hpp"
#include "net/http/http_request.hpp"
#include "net/http/router.hpp"

namespace {

using redge::HttpMethod;
using redge::HttpRequest;
using redge::RouteMatch;
using redge::Router;

void check(bool ok) {
  if (!ok) __builtin_trap();
}

// The routes the services declare, plus captures and catch-alls so that every
// router path is reached, among them a catch-all whose method the exact
// routes do not take (the 405 Allow list must then leave it out).
struct RouteSpec {
  HttpMethod method;
  std::string_view pattern;
};
constexpr RouteSpec kRoutes[] = {
    {HttpMethod::Get, "/"},
    {HttpMethod::Get, "/set"},
    {HttpMethod::Get, "/get"},
    {HttpMethod::Get, "/recent"},
    {HttpMethod::Post, "/upload"},
    {HttpMethod::Get, "/meow"},
    {HttpMethod::Get, "/metrics"},
    {HttpMethod::Get, "/healthz"},
    {HttpMethod::Get, "/readyz"},
    {HttpMethod::Get, "/messages/{id}"},
    {HttpMethod::Delete, "/messages/{id}"},
    {HttpMethod::Head, "/messages/{id}"},
    {HttpMethod::Put, "/files/{*path}"},
    {HttpMethod::Get, "/a/{x}/b/{*rest}"},
    {HttpMethod::Post, "/a/{x}/c"},
    {HttpMethod::Patch, "/p//{id}/"},
    {HttpMethod::Put, "/{*key}"},
};

const Router& router() {
  static const Router r = [] {
    Router built;
    for (const RouteSpec& s : kRoutes) built.add(s.method, s.pattern);
    return built;
  }();
  return r;
}

HttpMethod methodNamed(std::string_view name) {
  for (HttpMethod m : {HttpMethod::Get, HttpMethod::Head, HttpMethod::Post, HttpMethod::Put,
                       HttpMethod::Delete, HttpMethod::Patch, HttpMethod::Options}) {
    if (redge::httpMethodName(m) == name) return m;
  }
  return HttpMethod::Other;
}

// A percent-decoder written from RFC 3986 section 2.1, to hold
// redge::percentDecode to.
bool referenceDecode(std::string_view in, std::string& out) {
  auto hex = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  out.clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out.push_back(in[i]);
      continue;
    }
    if (in.size() - i < 3 || hex(in[i + 1]) < 0 || hex(in[i + 2]) < 0) return false;
    out.push_back(static_cast<char>(hex(in[i + 1]) * 16 + hex(in[i + 2])));
    i += 2;
  }
  return true;
}

struct Decoded {
  bool ok = false;
  std::string text;
  bool operator==(const Decoded& o) const { return ok == o.ok && (!ok || text == o.text); }
};

Decoded decode(std::string_view in) {
  Decoded d;
  d.ok = redge::percentDecode(in, d.text);
  std::string expected;
  const bool expected_ok = referenceDecode(in, expected);
  check(d.ok == expected_ok);
  if (d.ok) check(d.text == expected);
  return d;
}

using Headers = std::vector<std::pair<std::string, std::string>>;

// One complete request, as a handler would see it.
struct Message {
  uint8_t method = 0;
  int version_major = 0;
  int version_minor = 0;
  std::string target;
  Headers headers;   // the header section, from the model
  Headers trailers;  // the trailer section of a chunked body, from the model
  size_t header_count = 0;
  std::string body;
  bool keep_alive = false;
  bool upgrade = false;
  RouteMatch::Kind route_kind = RouteMatch::Kind::NotFound;
  int route_id = -1;
  std::string allow;
  std::vector<std::string> params;
  Decoded path;
  std::vector<Decoded> decoded_params;

  bool operator==(const Message& o) const {
    return method == o.method && version_major == o.version_major &&
           version_minor == o.version_minor && target == o.target && headers == o.headers &&
           trailers == o.trailers && header_count == o.header_count && body == o.body &&
           keep_alive == o.keep_alive && upgrade == o.upgrade && route_kind == o.route_kind &&
           route_id == o.route_id && allow == o.allow && params == o.params && path == o.path &&
           decoded_params == o.decoded_params;
  }
};

struct Outcome {
  std::vector<Message> messages;
  llhttp_errno_t error = HPE_OK;
  size_t error_offset = 0;         // from the start of the wire; 0 when no error
  llhttp_errno_t finish = HPE_OK;  // llhttp_finish() at the end of the input
  bool operator==(const Outcome& o) const {
    return messages == o.messages && error == o.error && error_offset == o.error_offset &&
           finish == o.finish;
  }
};

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && strncasecmp(a.data(), b.data(), a.size()) == 0;
}

// RFC 9110 section 5.5: a field value has no trailing whitespace (llhttp
// already drops the leading one).
std::string_view withoutTrailingOws(std::string_view v) {
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

// HttpRequest must answer every lookup the way the model says: the first
// value of each name, whatever its case, and nothing of the trailer section.
void checkHeaders(const HttpRequest& request, const Headers& model, const Headers& trailers) {
  check(request.headerCount() == model.size());
  for (size_t i = 0; i < model.size(); ++i) {
    size_t first = 0;
    while (!equalsIgnoreCase(model[first].first, model[i].first)) ++first;
    check(request.hasHeader(model[i].first));
    check(request.header(model[i].first) == withoutTrailingOws(model[first].second));
  }
  for (const auto& [name, value] : trailers) {
    bool in_head = false;
    for (const auto& h : model) in_head = in_head || equalsIgnoreCase(h.first, name);
    if (!in_head) check(!request.hasHeader(name));
  }
}

// The route table says what a found match must look like: the method fits,
// and putting the captures back into the pattern gives the path.
void checkRoute(const Message& m, HttpMethod method, std::string_view path) {
  const size_t n_routes = sizeof kRoutes / sizeof kRoutes[0];
  switch (m.route_kind) {
    case RouteMatch::Kind::Found: {
      check(m.route_id >= 0 && static_cast<size_t>(m.route_id) < n_routes);
      check(m.allow.empty());
      const RouteSpec& spec = kRoutes[m.route_id];
      check(spec.method == method ||
            (method == HttpMethod::Head && spec.method == HttpMethod::Get));
      std::string rebuilt;
      size_t next_param = 0;
      std::string_view pattern = spec.pattern;
      while (!pattern.empty()) {
        if (pattern.front() == '{') {
          const size_t close = pattern.find('}');
          check(next_param < m.params.size());
          check(!m.params[next_param].empty());
          rebuilt.append(m.params[next_param++]);
          pattern.remove_prefix(close + 1);
        } else {
          rebuilt.push_back(pattern.front());
          pattern.remove_prefix(1);
        }
      }
      check(next_param == m.params.size());
      check(rebuilt == path);
      break;
    }
    case RouteMatch::Kind::MethodNotAllowed: {
      check(m.route_id == -1);
      check(!m.allow.empty());
      check(m.params.empty());
      // Every method Allow names is accepted on this path, and the one that
      // was refused is not among them.
      std::string_view allow = m.allow;
      while (!allow.empty()) {
        const size_t comma = allow.find(", ");
        const HttpMethod listed = methodNamed(allow.substr(0, comma));
        check(listed != HttpMethod::Other && listed != method);
        std::vector<std::string_view> params;
        check(router().match(listed, path, params).kind == RouteMatch::Kind::Found);
        allow = comma == std::string_view::npos ? std::string_view() : allow.substr(comma + 2);
      }
      break;
    }
    case RouteMatch::Kind::NotFound:
      check(m.route_id == -1);
      check(m.allow.empty());
      check(m.params.empty());
      break;
  }
}

// Parses like a connection: one llhttp parser, one reused HttpRequest.
class Reader {
 public:
  explicit Reader(bool pause_each) : pause_each_(pause_each) {
    llhttp_settings_init(&settings_);
    settings_.on_message_begin = &onMessageBeginCb;
    settings_.on_url = &onUrlCb;
    settings_.on_header_field = &onHeaderFieldCb;
    settings_.on_header_field_complete = &onHeaderFieldCompleteCb;
    settings_.on_header_value = &onHeaderValueCb;
    settings_.on_header_value_complete = &onHeaderValueCompleteCb;
    settings_.on_headers_complete = &onHeadersCompleteCb;
    settings_.on_body = &onBodyCb;
    settings_.on_message_complete = &onMessageCompleteCb;
    llhttp_init(&parser_, HTTP_REQUEST, &settings_);
    // Strict mode, said out loud: these are all off by default.
    llhttp_set_lenient_headers(&parser_, 0);
    llhttp_set_lenient_chunked_length(&parser_, 0);
    llhttp_set_lenient_keep_alive(&parser_, 0);
    llhttp_set_lenient_transfer_encoding(&parser_, 0);
    parser_.data = this;
  }
  Reader(const Reader&) = delete;
  Reader& operator=(const Reader&) = delete;

  // Feeds one chunk that starts `base` bytes into the wire. A pause keeps the
  // unparsed rest and resumes on it, as the connection does once answers drain.
  // A pause at the very end of a chunk is resumed with an empty execute: llhttp
  // finishes the message's last transition only when it next runs (a
  // connection's next read), and until then an Upgrade pause stays hidden and
  // llhttp_finish() reports HPE_INVALID_EOF_STATE.
  void feed(std::string_view chunk, size_t base) {
    if (stopped_) return;
    while (true) {
      const llhttp_errno_t err = llhttp_execute(&parser_, chunk.data(), chunk.size());
      if (err == HPE_OK) return;
      const char* pos = llhttp_get_error_pos(&parser_);
      check(pos == nullptr || (pos >= chunk.data() && pos <= chunk.data() + chunk.size()));
      const size_t consumed = pos ? static_cast<size_t>(pos - chunk.data()) : chunk.size();
      if (err == HPE_PAUSED && pause_each_) {
        llhttp_resume(&parser_);
        chunk.remove_prefix(consumed);
        base += consumed;
        continue;
      }
      stopped_ = true;
      outcome_.error = err;
      outcome_.error_offset = base + consumed;
      return;
    }
  }

  Outcome finish() {
    if (!stopped_) outcome_.finish = llhttp_finish(&parser_);
    return std::move(outcome_);
  }

 private:
  static Reader* self(llhttp_t* p) { return static_cast<Reader*>(p->data); }

  static int onMessageBeginCb(llhttp_t* p) noexcept {
    Reader* r = self(p);
    check(!r->in_message_);
    r->in_message_ = true;
    r->request_.reset();
    r->current_ = Message{};
    r->name_.clear();
    r->value_.clear();
    r->in_trailers_ = false;
    return 0;
  }
  static int onUrlCb(llhttp_t* p, const char* at, size_t len) noexcept {
    Reader* r = self(p);
    r->request_.appendTarget(std::string_view(at, len));
    r->current_.target.append(at, len);
    return 0;
  }
  static int onHeaderFieldCb(llhttp_t* p, const char* at, size_t len) noexcept {
    Reader* r = self(p);
    r->request_.appendHeaderName(std::string_view(at, len));
    r->name_.append(at, len);
    return 0;
  }
  static int onHeaderFieldCompleteCb(llhttp_t* p) noexcept {
    self(p)->request_.endHeaderName();
    return 0;
  }
  static int onHeaderValueCb(llhttp_t* p, const char* at, size_t len) noexcept {
    Reader* r = self(p);
    r->request_.appendHeaderValue(std::string_view(at, len));
    r->value_.append(at, len);
    return 0;
  }
  static int onHeaderValueCompleteCb(llhttp_t* p) noexcept {
    Reader* r = self(p);
    Headers& into = r->in_trailers_ ? r->current_.trailers : r->current_.headers;
    into.emplace_back(std::move(r->name_), std::move(r->value_));
    r->name_.clear();
    r->value_.clear();
    return 0;
  }
  static int onHeadersCompleteCb(llhttp_t* p) noexcept {
    Reader* r = self(p);
    HttpRequest& q = r->request_;
    Message& m = r->current_;
    q.finishHeaders();
    q.method = redge::httpMethodFromLlhttp(p->method);
    q.version_major = p->http_major;
    q.version_minor = p->http_minor;
    check(q.target() == m.target);
    checkHeaders(q, m.headers, {});
    r->in_trailers_ = true;

    // What HttpServer::matchRoute does, then what a handler does with it.
    const RouteMatch match = router().match(q.method, q.path(), q.params());
    m.route_kind = match.kind;
    m.route_id = match.route_id;
    m.allow = match.allow;
    const std::string_view path = q.path();
    for (std::string_view param : q.params()) {
      // Captures are views into the path.
      check(param.data() >= path.data() &&
            param.data() + param.size() <= path.data() + path.size());
      m.params.emplace_back(param);
      m.decoded_params.push_back(decode(param));
    }
    m.path = decode(path);
    checkRoute(m, q.method, path);
    return 0;
  }
  static int onBodyCb(llhttp_t* p, const char* at, size_t len) noexcept {
    Reader* r = self(p);
    r->request_.mutableBody().append(at, len);
    return 0;
  }
  static int onMessageCompleteCb(llhttp_t* p) noexcept {
    Reader* r = self(p);
    check(r->in_message_);
    r->in_message_ = false;
    HttpRequest& q = r->request_;
    Message& m = r->current_;
    m.method = p->method;
    m.version_major = p->http_major;
    m.version_minor = p->http_minor;
    m.keep_alive = llhttp_should_keep_alive(p) != 0;
    m.upgrade = p->upgrade != 0;
    m.body = q.body();
    check(q.target() == m.target);
    // The trailer section of a chunked body has gone through the same
    // callbacks: it must have left the header section as it was.
    checkHeaders(q, m.headers, m.trailers);
    m.header_count = q.headerCount();
    r->outcome_.messages.push_back(std::move(m));
    return r->pause_each_ ? HPE_PAUSED : 0;
  }

  llhttp_settings_t settings_;
  llhttp_t parser_;
  const bool pause_each_;
  bool stopped_ = false;
  bool in_message_ = false;
  bool in_trailers_ = false;
  HttpRequest request_;
  Message current_;
  std::string name_;
  std::string value_;
  Outcome outcome_;
};

Outcome parse(std::string_view wire, const std::vector<size_t>& lengths, bool pause_each) {
  Reader reader(pause_each);
  size_t pos = 0;
  for (size_t len : lengths) {
    if (pos >= wire.size()) break;
    const std::string_view piece = wire.substr(pos, len);
    reader.feed(piece, pos);
    pos += piece.size();
  }
  if (pos < wire.size()) reader.feed(wire.substr(pos), pos);
  return reader.finish();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 1) return 0;
  const uint8_t mode = data[0];
  const size_t cuts = mode & 7;
  const bool pause_each = (mode & 8) != 0;
  size_t pos = 1;
  std::vector<size_t> lengths;
  for (size_t k = 0; k < cuts && pos < size; ++k) lengths.push_back(data[pos++]);
  const std::string_view wire(reinterpret_cast<const char*>(data) + pos, size - pos);

  const Outcome whole = parse(wire, {}, false);
  check(parse(wire, lengths, pause_each) == whole);
  check(parse(wire, std::vector<size_t>(wire.size(), 1), pause_each) == whole);
  return 0;
}
