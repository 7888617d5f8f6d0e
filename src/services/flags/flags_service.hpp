#pragma once
// The flags service: owns the FlagStore (offered to the modules after it),
// and serves, on the admin listener, the flag admin API (here)
// and the OpenFeature Remote Evaluation Protocol (flags_ofrep.cpp).
//
//   GET    /flags                 every flag, and the snapshot's version
//   GET    /flags/{name}          one flag
//   PUT    /flags/{name}          create or replace (JSON; If-Match: <version>,
//                                 If-None-Match: * to create only)
//   POST   /flags/{name}/on|off   switch it
//   DELETE /flags/{name}
//   POST   /ofrep/v1/evaluate/flags/{key}   OFREP single evaluation
//   POST   /ofrep/v1/evaluate/flags         OFREP bulk evaluation
//   GET    /ofrep/v1/configuration          OFREP provider configuration
//
// The flags module is created first, before the admin listener exists, so
// the routes are mounted in start(), when every listener has been made.

#include <memory>
#include <string>

#include "flags/flag_store.hpp"
#include "services/flags/flags_config.hpp"
#include "services/service.hpp"

namespace redge {

class FlagsService final : public Service {
 public:
  explicit FlagsService(ModuleContext& context);
  FlagsService(const FlagsService&) = delete;
  FlagsService& operator=(const FlagsService&) = delete;

  FlagStore& store() { return store_; }
  void start() override;
  void close(std::function<void()> done) override;

 private:
  void mountAdmin(HttpServer& admin);
  void mountOfrep(HttpServer& admin);

  // Admin API handlers.
  void list(HttpRequest& req, const HttpResponder& res);
  void get(HttpRequest& req, const HttpResponder& res);
  void put(HttpRequest& req, const HttpResponder& res);
  void setEnabled(HttpRequest& req, const HttpResponder& res, bool enabled);
  void remove(HttpRequest& req, const HttpResponder& res);
  // The flag name in the path, or an answer (400) and nullopt.
  std::optional<std::string> pathName(HttpRequest& req, const HttpResponder& res);
  // Who is changing flags: X-Redge-Actor, else the admin client's address.
  std::string actor(HttpRequest& req, const HttpResponder& res) const;
  void answerWrite(const HttpResponder& res, const std::string& name, RedisStatus status,
                   const redisReply* reply, const FlagWriteResult& result, int written_status);

  // OFREP handlers (flags_ofrep.cpp).
  void ofrepEvaluate(HttpRequest& req, const HttpResponder& res);
  void ofrepBulk(HttpRequest& req, const HttpResponder& res);
  void ofrepConfiguration(HttpRequest& req, const HttpResponder& res);

  ModuleContext& context_;
  RedisClient& redis_;
  FlagsOptions options_;
  FlagStore store_;
  bool closed_ = false;
};

}  // namespace redge
