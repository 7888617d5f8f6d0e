// A worker's part in the group (worker_group.hpp): heartbeat, flags and
// metrics text into its shared slot, the ready byte to the master, and the
// group's /metrics text and health read back from every slot.

#include "ops/workers/worker_group.hpp"

#include <unistd.h>

#include <cerrno>
#include <string_view>
#include <vector>

#include "core/log.hpp"
#include "ops/workers/group_exposition.hpp"

namespace redge {
namespace {

// The group's own series, in exposition text: one sample per worker slot.
void appendGroupSeries(std::string& out, const std::vector<WorkerSlotView>& views, int64_t now_ms) {
  out.append(
      "# HELP redge_workers Worker processes configured (server.workers)\n"
      "# TYPE redge_workers gauge\n");
  out.append("redge_workers ").append(std::to_string(views.size())).push_back('\n');
  out.append(
      "# HELP redge_worker_up 1 while a worker process runs in this slot\n"
      "# TYPE redge_worker_up gauge\n");
  for (size_t i = 0; i < views.size(); ++i) {
    out.append("redge_worker_up{worker=\"").append(std::to_string(i)).append("\"} ");
    out.append(views[i].pid != 0 ? "1" : "0").push_back('\n');
  }
  out.append(
      "# HELP redge_worker_restarts_total Times the master started this worker again after it "
      "exited\n"
      "# TYPE redge_worker_restarts_total counter\n");
  for (size_t i = 0; i < views.size(); ++i) {
    out.append("redge_worker_restarts_total{worker=\"").append(std::to_string(i)).append("\"} ");
    out.append(std::to_string(views[i].restarts)).push_back('\n');
  }
  out.append(
      "# HELP redge_worker_metrics_age_seconds How old this worker's series in this answer "
      "are\n"
      "# TYPE redge_worker_metrics_age_seconds gauge\n");
  for (size_t i = 0; i < views.size(); ++i) {
    if (views[i].pid == 0 || views[i].published_ms == 0) continue;
    double age = static_cast<double>(now_ms - views[i].published_ms) / 1000.0;
    out.append("redge_worker_metrics_age_seconds{worker=\"").append(std::to_string(i));
    out.append("\"} ").append(std::to_string(age < 0 ? 0.0 : age)).push_back('\n');
  }
}

}  // namespace

WorkerGroup::WorkerGroup(const WorkerIdentity& identity, Runtime& runtime)
    : identity_(identity), runtime_(runtime) {
  runtime_.metrics.setExpositionHook(
      [this](const std::string& local) { return renderGroup(local); });
}

WorkerGroup::~WorkerGroup() {
  runtime_.metrics.setExpositionHook(nullptr);
  close();
}

void WorkerGroup::start() {
  if (tick_) return;
  tick_ = runtime_.timers.createTimer([this] { onTick(); });
  onTick();
}

void WorkerGroup::onTick() {
  int64_t now = runtime_.clock.nowMs();
  identity_.slots->heartbeat(identity_.index, now);
  if (now - last_publish_ms_ >= kPublishEveryMs) publish();
  if (tick_) tick_->enable(identity_.heartbeat_ms);
}

void WorkerGroup::publish() {
  int64_t now = runtime_.clock.nowMs();
  last_publish_ms_ = now;
  std::string text = labelWorker(runtime_.metrics.renderLocal(), std::to_string(identity_.index));
  if (!identity_.slots->publish(identity_.index, text, now) && !publish_failed_logged_) {
    // The other workers' answers then lack this worker's series; say so once.
    publish_failed_logged_ = true;
    REDGE_LOG(Warn, "worker_metrics_too_large")
        .kv("bytes", static_cast<uint64_t>(text.size()))
        .kv("capacity", static_cast<uint64_t>(identity_.slots->textCapacity()));
  }
}

void WorkerGroup::writeFlags() {
  identity_.slots->setFlags(identity_.index, flags_);
}

void WorkerGroup::setListening() {
  flags_ |= kWorkerListening;
  writeFlags();
}

void WorkerGroup::setRedis(bool up) {
  if (up) {
    flags_ |= kWorkerRedisUp;
  } else {
    flags_ &= ~kWorkerRedisUp;
  }
  if ((flags_ & kWorkerListening) && !(flags_ & kWorkerDraining)) flags_ |= kWorkerReady;
  writeFlags();
  if ((flags_ & kWorkerReady) && !told_ready_ && identity_.ready_fd >= 0) {
    told_ready_ = true;
    // One byte into a fresh pipe cannot block or be short; a master that is
    // gone (EPIPE, SIGPIPE ignored) has nothing to be told.
    ssize_t n = ::write(identity_.ready_fd, "R", 1);
    (void)n;
    ::close(identity_.ready_fd);
    identity_.ready_fd = -1;
  }
  // The others see the change within a tick; a scrape of this worker sees
  // it at once (its own series are rendered live).
}

void WorkerGroup::setDraining() {
  flags_ = (flags_ | kWorkerDraining) & ~kWorkerReady;
  writeFlags();
}

void WorkerGroup::reloaded() {
  identity_.slots->noteReloaded(identity_.index);
}

void WorkerGroup::close() {
  tick_.reset();
  if (identity_.ready_fd >= 0) {
    ::close(identity_.ready_fd);
    identity_.ready_fd = -1;
  }
}

WorkerGroupHealth WorkerGroup::health() const {
  WorkerGroupHealth h;
  h.workers = identity_.slots->count();
  int64_t now = runtime_.clock.nowMs();
  for (int i = 0; i < h.workers; ++i) {
    WorkerSlotView v = identity_.slots->read(i, false);
    if (v.pid == 0) continue;
    ++h.running;
    // This worker's own loop is turning: it is running this code.
    bool stalled = i != identity_.index && now - v.heartbeat_ms > kStalledAfterMs;
    if (stalled) ++h.stalled;
    if (!stalled && (v.flags & kWorkerReady) && (v.flags & kWorkerRedisUp)) ++h.ready;
  }
  return h;
}

std::string WorkerGroup::renderGroup(const std::string& local) {
  int64_t now = runtime_.clock.nowMs();
  std::vector<WorkerSlotView> views;
  views.reserve(static_cast<size_t>(identity_.slots->count()));
  for (int i = 0; i < identity_.slots->count(); ++i) {
    views.push_back(identity_.slots->read(i, i != identity_.index));
  }
  std::string own = labelWorker(local, std::to_string(identity_.index));
  views[static_cast<size_t>(identity_.index)].published_ms = now;  // live
  std::string group;
  appendGroupSeries(group, views, now);
  std::vector<std::string_view> parts;
  parts.reserve(views.size() + 1);
  for (size_t i = 0; i < views.size(); ++i) {
    if (static_cast<int>(i) == identity_.index) {
      parts.push_back(own);
    } else if (views[i].pid != 0) {
      parts.push_back(views[i].text);
    }
  }
  parts.push_back(group);
  return mergeExpositions(parts);
}

}  // namespace redge
