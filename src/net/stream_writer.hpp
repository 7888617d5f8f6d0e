#pragma once
// The write side of one stream connection (HTTP or RESP): output is appended
// to buffer(), and flush() sends it with uv_try_write, queueing only what the
// kernel did not take. Most answers fit the socket buffer, so most flushes
// cost one write(2), no request object, and none of the epoll_ctl call libuv
// makes when a queued write drains.
//
// Owned by its connection, which must outlive queued writes: libuv cancels
// them (status UV_ECANCELED) before the stream's close callback, and the
// writer reports each completion to the owner's onWritten().

#include <uv.h>

#include <cstddef>
#include <string>

namespace redge {

class StreamWriterOwner {
 public:
  virtual ~StreamWriterOwner() = default;
  // A queued write finished (status < 0: failed or cancelled).
  virtual void onWritten(int status) = 0;
};

class StreamWriter {
 public:
  StreamWriter(uv_stream_t* stream, StreamWriterOwner& owner) : stream_(stream), owner_(owner) {}
  ~StreamWriter();
  StreamWriter(const StreamWriter&) = delete;
  StreamWriter& operator=(const StreamWriter&) = delete;

  std::string& buffer() { return out_; }
  bool empty() const { return out_.empty(); }
  size_t bufferedBytes() const { return out_.size(); }
  // Sends the buffer. Returns a libuv error (the caller closes), or 0.
  int flush();
  // Bytes handed to libuv but not yet written.
  size_t queuedBytes() const { return uv_stream_get_write_queue_size(stream_); }
  size_t writesInFlight() const { return writes_in_flight_; }
  // Everything written: nothing buffered, nothing queued.
  bool idle() const { return out_.empty() && writes_in_flight_ == 0; }
  void discard() { out_.clear(); }

 private:
  struct WriteRequest {
    uv_write_t req;
    StreamWriter* writer;
    std::string data;
  };
  static void onWriteCb(uv_write_t* req, int status) noexcept;

  uv_stream_t* stream_;
  StreamWriterOwner& owner_;
  std::string out_;
  WriteRequest* spare_ = nullptr;  // one finished request kept for reuse
  size_t writes_in_flight_ = 0;
};

}  // namespace redge
