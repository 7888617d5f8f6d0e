#pragma once
// The fake upstream's streaming listener (--stream-port): an HttpServer in
// streaming mode whose paths play what a reverse proxy must carry, each with
// backpressure and bounded memory (see README.md, "Streaming listener"):
// large downloads and uploads of a checkable pattern, an echo, interim
// answers, a 101 and an echo tunnel, resets before and after the head, slow
// readers and writers, a request that is never answered.
//
// Lifetimes. Each exchange is an object owned here; it is marked done when
// its exchange has ended (or the client went away) and freed from the
// after-poll hook, never from inside one of its own callbacks or timers.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "../stream_pattern.hpp"
#include "core/runtime.hpp"
#include "net/http/http_server.hpp"

namespace redge_test {

class StreamService {
 public:
  explicit StreamService(redge::Runtime& runtime);
  ~StreamService();
  StreamService(const StreamService&) = delete;
  StreamService& operator=(const StreamService&) = delete;

  // Makes `server` a streaming listener served by this service.
  void attach(redge::HttpServer& server);
  // After the servers have closed (their exchanges were told): frees what is
  // left and stops the hook.
  void close();
  // {"exchanges":N,"open":N,"client_closed":N,"sink_bytes":N}
  std::string statsJson() const;

 private:
  class Exchange;
  void onRequest(redge::HttpRequest& request, const redge::HttpExchange& exchange);
  void reap();

  redge::Runtime& runtime_;
  redge::LoopHooks::HookId hook_ = 0;
  std::vector<std::unique_ptr<Exchange>> live_;
  uint64_t exchanges_ = 0;
  uint64_t client_closed_ = 0;  // exchanges whose client went away midway
  uint64_t sink_bytes_ = 0;     // body bytes taken by /sink and /echo
};

}  // namespace redge_test
