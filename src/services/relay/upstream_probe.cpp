// UpstreamProbe: a bare TCP connect with a deadline (see the header).
//
// Lifetimes: an Attempt (uv_tcp_t + uv_connect_t) belongs to the probe until
// the probe finishes or closes, then to libuv until its close callback frees
// it. The connect callback always runs, with UV_ECANCELED once the handle is
// closed, so it finds its owner through Attempt::owner, which finish() and
// close() clear first. The one timer serves both as the deadline and, when
// uv_tcp_connect fails on the spot, to report that failure from the loop
// rather than inside probe().

#include "services/relay/upstream_probe.hpp"

#include <utility>

namespace redge {

struct UpstreamProbe::Attempt {
  uv_tcp_t tcp;
  uv_connect_t req;
  UpstreamProbe* owner = nullptr;
};

UpstreamProbe::UpstreamProbe(Runtime& runtime, std::string host, int port, int64_t timeout_ms)
    : loop_(runtime.loop),
      host_(std::move(host)),
      port_(port),
      timeout_ms_(timeout_ms),
      timer_(runtime.timers.createTimer([this] { onTimer(); })) {}

bool UpstreamProbe::probe(Callback cb) {
  if (closed_ || attempt_) return false;
  cb_ = std::move(cb);
  auto* a = new Attempt;
  a->owner = this;
  a->req.data = a;
  a->tcp.data = a;
  uv_tcp_init(loop_, &a->tcp);
  attempt_ = a;
  struct sockaddr_storage addr;
  int rc = host_.find(':') != std::string::npos
               ? uv_ip6_addr(host_.c_str(), port_, reinterpret_cast<sockaddr_in6*>(&addr))
               : uv_ip4_addr(host_.c_str(), port_, reinterpret_cast<sockaddr_in*>(&addr));
  if (rc == 0) {
    rc = uv_tcp_connect(&a->req, &a->tcp, reinterpret_cast<const sockaddr*>(&addr), &onConnectCb);
  }
  if (rc != 0) {
    // No connect callback will come: the handle is closed by finish(), and
    // the failure is reported on the next loop turn.
    pending_status_ = rc;
    timer_->enable(0);
    return true;
  }
  pending_status_ = UV_ETIMEDOUT;
  timer_->enable(timeout_ms_);
  return true;
}

void UpstreamProbe::onConnectCb(uv_connect_t* req, int status) noexcept {
  auto* a = static_cast<Attempt*>(req->data);
  if (!a->owner) return;  // finished or closed already; the handle is closing
  a->owner->finish(status);
}

// The deadline passed (UV_ETIMEDOUT), or a failure found inside probe() is
// reported now, from the loop.
void UpstreamProbe::onTimer() {
  if (closed_) return;
  finish(pending_status_);
}

void UpstreamProbe::onAttemptClosedCb(uv_handle_t* handle) noexcept {
  delete static_cast<Attempt*>(handle->data);
}

void UpstreamProbe::finish(int status) {
  if (timer_) timer_->disable();
  Attempt* a = attempt_;
  attempt_ = nullptr;
  if (a) {
    a->owner = nullptr;
    // Connected or not, the probe's job is done: closing a connected socket
    // is all the upstream sees of it.
    uv_close(reinterpret_cast<uv_handle_t*>(&a->tcp), &onAttemptClosedCb);
  }
  // Moved out first: the callback may start the next probe.
  Callback cb = std::move(cb_);
  cb_ = nullptr;
  if (cb) cb(status);
}

void UpstreamProbe::close() {
  if (closed_) return;
  closed_ = true;
  cb_ = nullptr;
  timer_.reset();
  if (attempt_) {
    attempt_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&attempt_->tcp), &onAttemptClosedCb);
    attempt_ = nullptr;
  }
}

}  // namespace redge
