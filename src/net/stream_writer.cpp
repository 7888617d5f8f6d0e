// StreamWriter: try-write first, queue the remainder, reuse one request.

#include "net/stream_writer.hpp"

namespace redge {

StreamWriter::~StreamWriter() {
  delete spare_;
}

int StreamWriter::flush() {
  if (out_.empty()) return 0;
  if (writes_in_flight_ == 0) {
    uv_buf_t whole = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
    int n = uv_try_write(stream_, &whole, 1);
    if (n == static_cast<int>(out_.size())) {
      out_.clear();
      return 0;
    }
    if (n > 0) {
      out_.erase(0, static_cast<size_t>(n));
    } else if (n != UV_EAGAIN) {
      return n;
    }
  }
  WriteRequest* w = spare_ ? spare_ : new WriteRequest;
  spare_ = nullptr;
  w->writer = this;
  w->req.data = w;
  // The kernel did not take it all: this buffer waits, maybe long (a client
  // that does not read). Appends grew it by doubling, so up to half of it
  // can be empty; a connection's bound counts bytes, and memory should too.
  if (out_.capacity() - out_.size() > (64u << 10)) out_.shrink_to_fit();
  w->data.swap(out_);  // out_ takes the request's old (empty) buffer and its capacity
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  int rc = uv_write(&w->req, stream_, &buf, 1, &onWriteCb);
  if (rc != 0) {
    delete w;
    return rc;
  }
  ++writes_in_flight_;
  return 0;
}

void StreamWriter::onWriteCb(uv_write_t* req, int status) noexcept {
  auto* w = static_cast<WriteRequest*>(req->data);
  StreamWriter* self = w->writer;
  --self->writes_in_flight_;
  w->data.clear();
  // Keep one request for the next flush; a huge buffer is not worth keeping.
  if (self->spare_ == nullptr && w->data.capacity() <= (64u << 10)) {
    self->spare_ = w;
  } else {
    delete w;
  }
  self->owner_.onWritten(status);
}

}  // namespace redge
