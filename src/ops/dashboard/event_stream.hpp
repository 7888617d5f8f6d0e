#pragma once
// GET /events on the admin listener: Server-Sent Events carrying the
// dashboard's snapshot, one `data:` frame a second.
//
// Cost. The snapshot is rendered once per tick, whatever the number of
// clients, and the same bytes go to each; the tick runs only while a client
// is connected. A new client gets the latest frame at once (rendered for it
// only when none is fresh).
//
// Bounds. A client that does not read is never buffered for without limit:
// while its connection's unwritten output is over the high mark
// (HttpExchange::wantsMore) its ticks are skipped, and after
// kMaxSkippedTicks skipped in a row it is dropped; the listener's write
// stall deadline and max_output_bytes cut it off as well. At most
// kMaxClients streams at once (503 beyond).
//
// Lifetimes. The stream owns one handler per client; the connection calls
// it until onClosed() (then it is freed at once) or until close() ends
// every exchange (after which the connection never calls it again). close()
// must run before the stream is destroyed; beginDrain() ends the streams as
// well, so a SIGTERM's drain does not wait for pages that never hang up.

#include <cstdint>
#include <list>
#include <memory>
#include <string>

#include "core/metrics.hpp"
#include "core/runtime.hpp"
#include "core/stats.hpp"
#include "core/timer.hpp"
#include "net/http/http_exchange.hpp"
#include "net/http/http_request.hpp"
#include "ops/dashboard/dashboard.hpp"

namespace redge {

// clang-format off
#define REDGE_ADMIN_EVENTS_STATS(COUNTER, GAUGE, HISTOGRAM)                                        \
  GAUGE(clients, "Admin event stream clients connected")                                          \
  COUNTER(ticks_total, "Dashboard snapshots rendered for the event stream")                       \
  COUNTER(frames_total, "Snapshot frames written to event stream clients")                        \
  COUNTER(skipped_total, "Snapshot frames skipped: the client had not read the previous ones")     \
  COUNTER(dropped_total, "Event stream clients dropped for not reading")                          \
  COUNTER(refused_total, "Event stream requests refused (too many clients, shutting down)")       \
  GAUGE(snapshot_bytes, "Size of the latest dashboard snapshot, bytes")
// clang-format on

struct AdminEventsStats {
  REDGE_STATS_MEMBERS(REDGE_ADMIN_EVENTS_STATS)
};

class EventStream {
 public:
  static constexpr size_t kMaxClients = 64;
  static constexpr int kMaxSkippedTicks = 30;

  EventStream(Runtime& runtime, const Dashboard& dashboard, int64_t interval_ms);
  ~EventStream();
  EventStream(const EventStream&) = delete;
  EventStream& operator=(const EventStream&) = delete;

  // The route's stream entry.
  void accept(HttpRequest& request, const HttpExchange& exchange);
  // Ends every stream (the pages reconnect to another instance, or after a
  // restart); new requests are refused from then on. Idempotent.
  void close();
  size_t clients() const { return clients_.size(); }

 private:
  class Client;
  void onTick();
  // The latest frame, rendered now unless this tick's is still current.
  const std::string& frame(bool fresh);
  void remove(Client* client);

  Runtime& runtime_;
  const Dashboard& dashboard_;
  int64_t interval_ms_;
  AdminEventsStats stats_;
  Histogram& render_seconds_;  // what one snapshot costs: collect and render
  TimerPtr timer_;
  std::list<std::unique_ptr<Client>> clients_;
  std::string frame_;  // "data: {...}\n\n"
  uint64_t seq_ = 0;
  int64_t rendered_ms_ = -1;  // monotonic time frame_ was rendered
  bool closed_ = false;
};

}  // namespace redge
