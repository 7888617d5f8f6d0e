// The discovery module's admin routes (see discovery_service.hpp): the
// registry listed, instances spawned and destroyed.
//
// A spawn is one SpawnWait per request: each member is a command started
// with uv_spawn, a free port and an id chosen here; it is done when the
// registry view sees that id register (the change message), failed when
// its command exits non-zero first, and timed out at the request's
// deadline (one timer for every wait, armed to the earliest). The request
// is answered once every member is settled.

#include <rapidjson/document.h>

#include <algorithm>
#include <charconv>
#include <cmath>
#include <map>

#include "core/json_escape.hpp"
#include "core/json_parse.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "core/uri.hpp"
#include "services/discovery/command_template.hpp"
#include "services/discovery/discovery_service.hpp"
#include "services/redis_failure.hpp"

namespace redge {
namespace {

// A request body: a JSON object whose fields the route names. On failure
// `error` is set and the answer has been sent.
bool readAdminBody(const HttpRequest& request, const HttpResponder& responder,
                   rapidjson::Document& doc) {
  const JsonParseResult parsed = parseJson(request.body(), doc);
  if (!parsed.ok()) {
    responder.sendError(400, "invalid_json", "The body is not valid JSON " + parsed.describe());
    return false;
  }
  if (!doc.IsObject()) {
    responder.sendError(400, "invalid_json", "The body must be a JSON object.");
    return false;
  }
  return true;
}

void invalidField(const HttpResponder& responder, std::string_view field,
                  const std::string& message) {
  responder.sendError(400, "invalid_field", message, 0, {{"field", field.substr(0, 64)}});
}

void answerRedisDown(const HttpResponder& responder, const RedisClient& redis) {
  answerRedisFailure(responder, RedisStatus::Unavailable, nullptr, redis);
}

std::string idList(const std::vector<std::string>& ids) {
  std::string out;
  JsonWriter w(out);
  w.startArray();
  for (const std::string& id : ids) w.string(id);
  w.endArray();
  return out;
}

}  // namespace

void DiscoveryService::mountRoutes(HttpServer& admin) {
  admin.route(HttpMethod::Get, "/listservers",
              [this](HttpRequest& req, const HttpResponder& res) { listServers(req, res); });
  admin.route(
      HttpMethod::Post, "/spawn",
      [this](HttpRequest& req, const HttpResponder& res) { spawn(req, res); }, kMaxAdminBodyBytes);
  admin.route(
      HttpMethod::Post, "/destroy",
      [this](HttpRequest& req, const HttpResponder& res) { destroy(req, res); },
      kMaxAdminBodyBytes);
}

// ---------------------------------------------------------------- listing

void DiscoveryService::listServers(HttpRequest& request, const HttpResponder& responder) {
  std::string service(queryParam(request.query(), "service"));
  if (!registry_.loaded() && !redis_.ready()) return answerRedisDown(responder, redis_);
  if (!redis_.ready()) return answerList(responder, service);
  // A fresh load, so the heartbeat times are current (heartbeats publish
  // nothing); Redis failing meanwhile still answers, from the snapshot.
  registry_.refresh([this, responder, service](bool) { answerList(responder, service); });
}

void DiscoveryService::answerList(const HttpResponder& responder, const std::string& service) {
  if (!registry_.loaded()) return answerRedisDown(responder, redis_);
  std::vector<InstanceRecord> list =
      service.empty() ? registry_.all() : registry_.instances(service);
  std::vector<std::string> ids;
  for (const InstanceRecord& r : list) ids.push_back(r.id);
  // The CPU each reported with its last heartbeat is read from Redis (one
  // script call): heartbeats are not announced, so the view does not hold it.
  // Redis down: null, as for an instance that has not measured yet.
  registry_.readCpu(std::move(ids), [this, responder, list = std::move(list)](
                                        bool, std::map<std::string, double> cpu) {
    sendList(responder, list, cpu);
  });
}

void DiscoveryService::sendList(const HttpResponder& responder,
                                const std::vector<InstanceRecord>& list,
                                const std::map<std::string, double>& cpu) {
  std::string body = "{\"stale\":";
  body.append(registry_.stale() ? "true" : "false");
  body.append(",\"count\":").append(std::to_string(list.size()));
  body.append(",\"instances\":[");
  for (size_t i = 0; i < list.size(); ++i) {
    if (i) body.push_back(',');
    body.push_back('{');
    appendInstanceFields(body, list[i]);
    std::optional<InstanceTraffic> t = registry_.traffic(list[i]);
    if (t) {
      body.append(",\"health\":");
      appendJsonString(body, t->health);
      body.append(",\"inflight\":").append(std::to_string(t->inflight));
      body.append(",\"requests\":").append(std::to_string(t->requests));
    } else {
      body.append(",\"health\":null,\"inflight\":null,\"requests\":null");
    }
    auto c = cpu.find(list[i].id);
    body.append(",\"cpu_percent\":");
    if (c != cpu.end() && std::isfinite(c->second)) {
      char text[32];
      auto r = std::to_chars(text, text + sizeof text, c->second, std::chars_format::fixed, 1);
      body.append(text, r.ptr);  // as the heartbeat wrote it: one decimal
    } else {
      body.append("null");
    }
    body.push_back('}');
  }
  body.append("]}");
  responder.send(HttpResponse(200, "application/json", body));
}

// ---------------------------------------------------------------- spawn

size_t DiscoveryService::pendingFor(const std::string& service) const {
  size_t n = 0;
  for (const auto& [id, wait] : spawn_waits_) {
    if (wait.service != service) continue;
    for (const auto& m : wait.members) n += m.state == SpawnMember::State::Starting ? 1 : 0;
  }
  return n;
}

void DiscoveryService::updatePendingGauge() {
  size_t n = 0;
  for (const auto& [id, wait] : spawn_waits_) {
    for (const auto& m : wait.members) n += m.state == SpawnMember::State::Starting ? 1 : 0;
  }
  stats_.spawns_pending.set(static_cast<double>(n));
}

void DiscoveryService::spawn(HttpRequest& request, const HttpResponder& responder) {
  if (options_.spawn_command.empty()) {
    return responder.sendError(404, "feature_disabled",
                               "POST /spawn needs discovery.spawn_command (an argv template "
                               "with {service}, {id}, {port}); it is not set.");
  }
  if (draining_) {
    return responder.sendError(503, "shutting_down", "This redge is stopping; spawn elsewhere.");
  }
  rapidjson::Document doc;
  if (!readAdminBody(request, responder, doc)) return;
  std::string service;
  int64_t count = 1;
  bool have_service = false;
  for (rapidjson::SizeType i = 0; i < doc.MemberCount(); ++i) {
    auto it = doc.MemberBegin() + i;
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    const auto& v = it->value;
    if (name == "service") {
      if (!v.IsString() || checkServiceName(std::string(v.GetString(), v.GetStringLength()))) {
        return invalidField(responder, name,
                            "service must be a string of 1 to 64 letters, digits, _ . or -.");
      }
      service.assign(v.GetString(), v.GetStringLength());
      have_service = true;
    } else if (name == "count") {
      if (!v.IsInt64() || v.GetInt64() < 1 || v.GetInt64() > kMaxSpawnCount) {
        return invalidField(
            responder, name,
            "count must be an integer from 1 to " + std::to_string(kMaxSpawnCount) + ".");
      }
      count = v.GetInt64();
    } else {
      return invalidField(responder, name,
                          "Unknown field '" + std::string(name.substr(0, 64)) +
                              "'; POST /spawn takes service and count.");
    }
  }
  if (!have_service) return invalidField(responder, "service", "service is required.");
  // Without both connections the new instances could not be seen registering.
  if (!redis_.ready() || !registry_.following() || !registry_.loaded()) {
    return answerRedisDown(responder, redis_);
  }
  size_t current = registry_.countOf(service) + pendingFor(service);
  if (static_cast<int64_t>(current) + count > options_.max_instances) {
    return responder.sendError(
        409, "max_instances",
        "Spawning " + std::to_string(count) + " more would exceed discovery.max_instances (" +
            std::to_string(options_.max_instances) + ") for service '" + service + "', which has " +
            std::to_string(current) + " registered or starting; destroy some first.",
        0,
        {{"service", service},
         {"max_instances", options_.max_instances},
         {"current", static_cast<int64_t>(current)}});
  }

  uint64_t wait_id = next_wait_id_++;
  SpawnWait& wait = spawn_waits_[wait_id];
  wait.responder = responder;
  wait.service = service;
  wait.started_ms = runtime_.clock.nowMs();
  wait.deadline_ms = wait.started_ms + options_.spawn_timeout_ms;
  for (int64_t i = 0; i < count; ++i) {
    SpawnMember& m = wait.members.emplace_back();
    m.id = newInstanceId(service);
  }
  bool inherit = options_.spawn_output == "inherit";
  for (SpawnMember& m : wait.members) {
    stats_.spawns_started_total.inc();
    m.port = findFreeTcpPort();
    if (m.port < 0) {
      failMember(wait, m, "no_port", std::string("no free port: ") + uv_strerror(m.port));
      continue;
    }
    CommandValues values{service, m.id, std::to_string(m.port), redis_url_, ""};
    std::vector<std::string> argv = expandCommand(options_.spawn_command, values);
    std::string instance_id = m.id;
    int pid = 0;
    int64_t rc = runner_.run(
        argv, inherit,
        [this, wait_id, instance_id](int64_t status, int sig) {
          onSpawnExit(wait_id, instance_id, status, sig);
        },
        &pid);
    if (rc < 0) {
      failMember(wait, m, "spawn_error",
                 "cannot run " + argv[0] + ": " + uv_strerror(static_cast<int>(rc)));
      continue;
    }
    m.command = rc;
    m.pid = pid;
    REDGE_LOG(Info, "spawn_started")
        .kv("id", m.id)
        .kv("service", service)
        .kv("port", m.port)
        .kv("pid", pid)
        .kv("command", argv[0]);
  }
  updatePendingGauge();
  settle(wait_id);
  armSpawnTimer();
}

void DiscoveryService::failMember(SpawnWait& wait, SpawnMember& member, std::string_view reason,
                                  std::string failure) {
  member.state = SpawnMember::State::Failed;
  member.failure = std::move(failure);
  stats_.spawns_failed_total.inc();
  REDGE_LOG(Warn, "spawn_failed")
      .kv("id", member.id)
      .kv("service", wait.service)
      .kv("reason", reason)
      .kv("detail", member.failure);
}

void DiscoveryService::onRegistryChange(const RegistryChange& change) {
  if (change.op != ChangeOp::Added || spawn_waits_.empty()) return;
  for (auto& [wait_id, wait] : spawn_waits_) {
    for (SpawnMember& m : wait.members) {
      if (m.state != SpawnMember::State::Starting || m.id != change.instance.id) continue;
      m.state = SpawnMember::State::Registered;
      m.record = change.instance;
      stats_.spawns_finished_total.inc();
      REDGE_LOG(Info, "spawn_finished")
          .kv("id", m.id)
          .kv("service", wait.service)
          .kv("address", change.instance.address)
          .kv("elapsed_ms", runtime_.clock.nowMs() - wait.started_ms);
      updatePendingGauge();
      settle(wait_id);  // may erase this wait: stop iterating
      return;
    }
  }
}

void DiscoveryService::onSpawnExit(uint64_t wait_id, const std::string& instance_id, int64_t status,
                                   int term_signal) {
  if (closed_) return;
  REDGE_LOG(Info, "spawned_process_exited")
      .kv("id", instance_id)
      .kv("exit_status", status)
      .kv("signal", term_signal);
  auto it = spawn_waits_.find(wait_id);
  if (it == spawn_waits_.end()) return;
  for (SpawnMember& m : it->second.members) {
    if (m.id != instance_id) continue;
    m.command = 0;
    // Exit 0 before registering is a launcher's way (systemd-run, a cloud
    // CLI): the instance starts elsewhere; keep waiting for it.
    if (m.state != SpawnMember::State::Starting || (status == 0 && term_signal == 0)) return;
    failMember(it->second, m, "exited",
               term_signal ? "the spawn command was killed by signal " + std::to_string(term_signal)
                           : "the spawn command exited with status " + std::to_string(status) +
                                 " before the instance registered");
    updatePendingGauge();
    settle(wait_id);
    return;
  }
}

void DiscoveryService::settle(uint64_t wait_id) {
  auto it = spawn_waits_.find(wait_id);
  if (it == spawn_waits_.end()) return;
  SpawnWait& wait = it->second;
  std::vector<std::string> registered, failed_ids;
  std::string failures;
  JsonWriter failure_writer(failures);
  failure_writer.startArray();
  for (const SpawnMember& m : wait.members) {
    if (m.state == SpawnMember::State::Starting) return;
    if (m.state == SpawnMember::State::Registered) {
      registered.push_back(m.id);
    } else {
      failed_ids.push_back(m.id);
      failure_writer.startObject().key("id").string(m.id).key("reason").string(m.failure);
      failure_writer.endObject();
    }
  }
  if (failed_ids.empty()) {
    std::string body = "{\"service\":";
    appendJsonString(body, wait.service);
    body.append(",\"count\":").append(std::to_string(wait.members.size()));
    body.append(",\"instances\":[");
    for (size_t i = 0; i < wait.members.size(); ++i) {
      if (i) body.push_back(',');
      body.push_back('{');
      appendInstanceFields(body, wait.members[i].record);
      body.push_back('}');
    }
    body.append("]}");
    wait.responder.send(HttpResponse(201, "application/json", body));
  } else {
    failure_writer.endArray();
    const std::string registered_json = idList(registered);
    wait.responder.sendError(
        502, "spawn_failed",
        std::to_string(failed_ids.size()) + " of " + std::to_string(wait.members.size()) +
            " spawned instances failed before registering (first: " + wait.members.front().id +
            "); see the log (event=spawn_failed).",
        0, {ErrorField::json("registered", registered_json), ErrorField::json("failed", failures)});
  }
  spawn_waits_.erase(it);
  updatePendingGauge();
}

void DiscoveryService::armSpawnTimer() {
  if (!spawn_timer_) return;
  if (spawn_waits_.empty()) {
    spawn_timer_->disable();
    return;
  }
  int64_t earliest = INT64_MAX;
  for (const auto& [id, wait] : spawn_waits_) earliest = std::min(earliest, wait.deadline_ms);
  spawn_timer_->enable(std::max<int64_t>(0, earliest - runtime_.clock.nowMs()));
}

void DiscoveryService::onSpawnDeadline() {
  int64_t now = runtime_.clock.nowMs();
  std::vector<uint64_t> due;
  for (const auto& [id, wait] : spawn_waits_) {
    if (wait.deadline_ms <= now) due.push_back(id);
  }
  for (uint64_t wait_id : due) {
    auto it = spawn_waits_.find(wait_id);
    if (it == spawn_waits_.end()) continue;
    SpawnWait& wait = it->second;
    std::vector<std::string> registered, missing;
    for (SpawnMember& m : wait.members) {
      if (m.state == SpawnMember::State::Registered) registered.push_back(m.id);
      if (m.state != SpawnMember::State::Starting) continue;
      missing.push_back(m.id);
      failMember(wait, m, "timeout",
                 "not registered within discovery.spawn_timeout_ms (" +
                     std::to_string(options_.spawn_timeout_ms) + " ms)");
      // A local command still starting is stopped: the request has failed
      // and max_instances no longer counts it.
      if (m.command != 0) runner_.terminate(m.command);
    }
    const std::string registered_json = idList(registered);
    const std::string missing_json = idList(missing);
    wait.responder.sendError(
        504, "spawn_timeout",
        std::to_string(missing.size()) + " of " + std::to_string(wait.members.size()) +
            " spawned instances did not register within discovery.spawn_timeout_ms (" +
            std::to_string(options_.spawn_timeout_ms) + " ms); their commands were stopped.",
        0,
        {ErrorField::json("registered", registered_json),
         ErrorField::json("missing", missing_json)});
    spawn_waits_.erase(it);
  }
  updatePendingGauge();
  armSpawnTimer();
}

// ---------------------------------------------------------------- destroy

void DiscoveryService::destroy(HttpRequest& request, const HttpResponder& responder) {
  rapidjson::Document doc;
  if (!readAdminBody(request, responder, doc)) return;
  std::string id;
  for (rapidjson::SizeType i = 0; i < doc.MemberCount(); ++i) {
    auto it = doc.MemberBegin() + i;
    std::string_view name(it->name.GetString(), it->name.GetStringLength());
    const auto& v = it->value;
    if (name != "id") {
      return invalidField(
          responder, name,
          "Unknown field '" + std::string(name.substr(0, 64)) + "'; POST /destroy takes id.");
    }
    std::string value = v.IsString() ? std::string(v.GetString(), v.GetStringLength()) : "";
    if (value.empty() || checkInstanceId(value)) {
      return invalidField(responder, name,
                          "id must be an instance id (see GET /listservers): 1 to 64 letters, "
                          "digits, _ . or -.");
    }
    id = std::move(value);
  }
  if (id.empty()) return invalidField(responder, "id", "id is required.");
  if (!redis_.ready()) return answerRedisDown(responder, redis_);
  int64_t tombstone_ms = std::max(kMinTombstoneMs, 3 * options_.lease_ms);
  store_.destroy(id, tombstone_ms,
                 [this, responder, id](RedisStatus status, std::optional<InstanceRecord> record) {
                   if (closed_) return;
                   if (status != RedisStatus::Ok) {
                     return answerRedisFailure(responder, status, nullptr, redis_);
                   }
                   if (!record) {
                     return responder.sendError(
                         404, "not_found",
                         "No instance with id '" + id + "' is registered (see GET /listservers).");
                   }
                   stats_.destroys_total.inc();
                   REDGE_LOG(Info, "destroy_requested")
                       .kv("id", id)
                       .kv("service", record->service)
                       .kv("address", record->address);
                   std::string outcome = "none";
                   if (!options_.destroy_command.empty()) runDestroyCommand(*record, outcome);
                   std::string body = "{\"id\":";
                   appendJsonString(body, id);
                   body.append(",\"service\":");
                   appendJsonString(body, record->service);
                   body.append(",\"address\":");
                   appendJsonString(body, record->address);
                   body.append(",\"status\":\"stopping\",\"destroy_command\":");
                   appendJsonString(body, outcome);
                   body.append("}");
                   responder.send(HttpResponse(202, "application/json", body));
                 });
}

void DiscoveryService::runDestroyCommand(const InstanceRecord& record, std::string& outcome) {
  CommandValues values{record.service, record.id, std::to_string(addressPort(record.address)),
                       redis_url_, record.address};
  std::vector<std::string> argv = expandCommand(options_.destroy_command, values);
  std::string id = record.id;
  int pid = 0;
  int64_t rc = runner_.run(
      argv, options_.spawn_output == "inherit",
      [this, id](int64_t status, int sig) {
        if (closed_) return;
        if (status == 0 && sig == 0) {
          REDGE_LOG(Info, "destroy_command_finished").kv("id", id).kv("exit_status", status);
          return;
        }
        stats_.destroy_commands_failed_total.inc();
        REDGE_LOG(Warn, "destroy_command_failed")
            .kv("id", id)
            .kv("exit_status", status)
            .kv("signal", sig);
      },
      &pid);
  if (rc < 0) {
    stats_.destroy_commands_failed_total.inc();
    REDGE_LOG(Warn, "destroy_command_failed")
        .kv("id", id)
        .kv("error", uv_strerror(static_cast<int>(rc)))
        .kv("command", argv[0]);
    outcome = "failed";
    return;
  }
  REDGE_LOG(Info, "destroy_command_started").kv("id", id).kv("pid", pid).kv("command", argv[0]);
  outcome = "started";
}

}  // namespace redge
