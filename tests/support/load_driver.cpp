// LoadDriver: the steady request mix the chaos suite keeps running while it
// injects a fault, and the record of what each request got back, so a case
// can say "nothing hung", "every failure said 503 and when to come back",
// "success again within a second".

#include "support/load_driver.hpp"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <sstream>

#include "support/json_fields.hpp"
#include "support/wire_stream.hpp"

namespace redge_test {
namespace {

using Clock = std::chrono::steady_clock;

double msBetween(Clock::time_point from, Clock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

bool wantsClose(const RawResponse& r) {
  std::string value = r.header("Connection");
  for (char& ch : value) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  return value == "close";
}

}  // namespace

LoadDriver::LoadDriver(std::vector<LoadRequest> mix, LoadOptions options)
    : mix_(std::move(mix)), options_(options), start_(Clock::now()) {}

LoadDriver::~LoadDriver() {
  stop();
}

void LoadDriver::start() {
  start_ = Clock::now();
  stopping_ = false;
  for (int w = 0; w < options_.workers; ++w) threads_.emplace_back([this, w] { work(w); });
}

void LoadDriver::stop() {
  stopping_ = true;
  for (auto& t : threads_) t.join();
  threads_.clear();
}

double LoadDriver::nowMs() const {
  return msBetween(start_, Clock::now());
}

std::vector<LoadOutcome> LoadDriver::outcomes() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return outcomes_;
}

size_t LoadDriver::count() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return outcomes_.size();
}

void LoadDriver::record(LoadOutcome outcome) {
  std::lock_guard<std::mutex> lock(mutex_);
  outcomes_.push_back(std::move(outcome));
}

void LoadDriver::work(int worker) {
  std::map<int, std::unique_ptr<WireStream>> connections;
  size_t next = static_cast<size_t>(worker);
  while (!stopping_) {
    const size_t index = next++ % mix_.size();
    const LoadRequest& request = mix_[index];
    const Clock::time_point began = Clock::now();
    LoadOutcome o;
    o.request = index;
    o.sent_ms = msBetween(start_, began);
    std::unique_ptr<WireStream>& c = connections[request.port];
    bool drop = false;
    try {
      if (!c) {
        c = std::make_unique<WireStream>(request.port);
        o.connect_ms = msBetween(began, Clock::now());
      }
      const Clock::time_point deadline = began + options_.request_timeout;
      ++in_flight_;
      struct Done {
        std::atomic<int>& n;
        ~Done() { --n; }
      } done{in_flight_};
      if (!c->sendAll(request.bytes, deadline)) {
        o.failure = c->peerClosed() ? "closed before the request was sent" : "send timed out";
        drop = true;
      }
      while (o.failure.empty() && !o.answered) {
        size_t used = 0;
        if (request.wire == LoadRequest::Wire::Http) {
          if (auto r = parseHttpResponse(c->input(), used)) {
            c->consume(used);
            o.answered = true;
            o.status = r->status;
            o.error_code = errorCode(r->body);
            o.retry_after = r->hasHeader("Retry-After");
            if (r->body.size() <= 512) o.reply = r->body;
            o.ok = std::find(request.ok_statuses.begin(), request.ok_statuses.end(), r->status) !=
                   request.ok_statuses.end();
            drop = wantsClose(*r);
            break;
          }
        } else if (auto r = parseRespReply(c->input(), used)) {
          c->consume(used);
          o.answered = true;
          o.reply = r->summary();
          o.ok = !r->isError();
          break;
        }
        WireStream::Fill f = c->fill(deadline);
        if (f == WireStream::Fill::Closed) {
          o.failure = "closed without an answer";
          drop = true;
        } else if (f == WireStream::Fill::Timeout) {
          o.failure = "timeout";
          drop = true;
        }
      }
      if (c && c->peerClosed()) drop = true;
    } catch (const std::exception& e) {
      o.failure = e.what();
      drop = true;
    }
    o.done_ms = msBetween(start_, Clock::now());
    if (drop) c.reset();
    const bool refused = !o.answered && o.failure.rfind("connect", 0) == 0;
    record(std::move(o));
    auto pause = refused ? options_.reconnect_pause : options_.interval;
    std::this_thread::sleep_until(began + pause);
  }
}

std::string describeOutcome(const LoadDriver& driver, const LoadOutcome& o) {
  char times[96];
  if (o.connect_ms >= 1) {
    std::snprintf(times, sizeof times, "[%.1f ms +%.1f, connect %.1f] ", o.sent_ms, o.latencyMs(),
                  o.connect_ms);
  } else {
    std::snprintf(times, sizeof times, "[%.1f ms +%.1f] ", o.sent_ms, o.latencyMs());
  }
  std::string out = times + driver.mix()[o.request].name + " -> ";
  if (!o.answered) return out + "no answer: " + o.failure;
  if (driver.mix()[o.request].wire == LoadRequest::Wire::Resp) return out + o.reply;
  out += std::to_string(o.status);
  if (!o.error_code.empty()) out += " " + o.error_code;
  if (o.retry_after) out += " Retry-After";
  return out;
}

std::string summarizeLoad(const LoadDriver& driver, const std::vector<LoadOutcome>& outcomes) {
  struct Tally {
    size_t ok = 0, refused = 0, unanswered = 0;
    double slowest = 0;
  };
  std::map<std::string, Tally> by_name;
  for (const auto& o : outcomes) {
    Tally& t = by_name[driver.mix()[o.request].name];
    if (o.ok)
      ++t.ok;
    else if (o.answered)
      ++t.refused;
    else
      ++t.unanswered;
    t.slowest = std::max(t.slowest, o.latencyMs());
  }
  std::ostringstream out;
  out << outcomes.size() << " requests";
  for (const auto& [name, t] : by_name) {
    out << "; " << name << ": " << t.ok << " ok, " << t.refused << " error answers, "
        << t.unanswered << " unanswered, slowest " << static_cast<long>(t.slowest) << " ms";
  }
  return out.str();
}

std::string describeFailures(const LoadDriver& driver, const std::vector<LoadOutcome>& outcomes) {
  std::string out;
  for (const LoadOutcome& o : outcomes) {
    if (!o.ok) out += describeOutcome(driver, o) + "\n";
  }
  return out;
}

size_t countFailures(const std::vector<LoadOutcome>& outcomes) {
  size_t n = 0;
  for (const LoadOutcome& o : outcomes) n += o.ok ? 0 : 1;
  return n;
}

}  // namespace redge_test
