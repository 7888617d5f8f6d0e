// The relay's HTTP API against a healthy upstream: what POST /messages
// accepts and refuses (and that a refusal enqueues nothing), Idempotency-Key
// replays, and the shapes of GET /messages/{id}, GET /messages and
// GET /messages/stats, checked field by field.

#include "support/relay_api.hpp"

#include <rapidjson/document.h>

#include <catch2/catch.hpp>
#include <string>
#include <thread>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/wait_until.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

const HeaderList kJson = {"Content-Type: application/json"};

// True once every id is `sent` at the relay.
bool allSent(const RedgeProcess& redge, const std::vector<std::string>& ids) {
  for (const auto& id : ids) {
    if (getMessage(redge, id).message.status != "sent") return false;
  }
  return true;
}

// "d3" and the like; appended rather than operator+, which GCC 12 wrongly
// flags under -Wrestrict.
std::string numbered(const char* prefix, int n) {
  std::string out = prefix;
  out += std::to_string(n);
  return out;
}

std::string accepted(const HttpReply& r) {
  REQUIRE(r.status == 202);
  auto id = jsonString(r.body, "id");
  REQUIRE(id);
  return *id;
}

// Parses `body` as JSON in strict UTF-8; fails the test when it is not.
void parseStrict(const std::string& body, rapidjson::Document& doc) {
  INFO(body);
  doc.Parse<rapidjson::kParseValidateEncodingFlag>(body.c_str(), body.size());
  REQUIRE_FALSE(doc.HasParseError());
  REQUIRE(doc.IsObject());
}

}  // namespace

TEST_CASE("relay: an accepted message is queued, delivered once and reads back as sent",
          "[relay]") {
  RelayStack s;
  // Quotes, a backslash, a newline and non-ASCII survive the round trip.
  const std::string body = "line one\nsaid \"hi\" \\ caf\xC3\xA9";
  HttpReply r = postMessage(s.redge, "user-42", body);
  REQUIRE(r.status == 202);
  CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
  auto id = jsonString(r.body, "id");
  REQUIRE(id);
  CHECK(!id->empty());
  CHECK(jsonString(r.body, "status") == "queued");
  CHECK(r.header("Location") == "/messages/" + *id);

  REQUIRE(waitUntil([&] { return allSent(s.redge, {*id}); }, 5000ms));
  RelayMessageReply got = getMessage(s.redge, *id);
  REQUIRE(got.status_code == 200);
  INFO(got.body);
  REQUIRE(got.message.valid);
  CHECK(got.message.id == *id);
  CHECK(got.message.destination == "user-42");
  CHECK(got.message.body == body);
  CHECK(got.message.status == "sent");
  CHECK(got.message.attempts == 1);
  CHECK_FALSE(got.message.has_error);
  CHECK(got.message.created_at > 1600000000000);  // wall-clock milliseconds
  CHECK(got.message.updated_at >= got.message.created_at);

  // The upstream saw it once, keyed by the message id.
  UpstreamStats up = s.upstream.stats();
  INFO(up.raw);
  REQUIRE(up.valid);
  CHECK(up.deliveriesOf(*id) == 1);
  CHECK(up.attemptsOf(*id) == 1);
  CHECK(up.duplicates == 0);
  CHECK(up.unkeyed == 0);  // every attempt carried the key
  CHECK(scrapeMetric(s.redge, "redge_relay_messages_total{outcome=\"sent\"}") == 1.0);
}

TEST_CASE("relay: POST /messages refuses bad requests with a stable code and enqueues nothing",
          "[relay]") {
  RelayStack s;
  const std::string messages = s.redge.appUrl("/messages");

  SECTION("not JSON by Content-Type") {
    // "Content-Type:" with no value makes curl send no Content-Type at all.
    for (const HeaderList& headers :
         {HeaderList{"Content-Type: text/plain"}, HeaderList{"Content-Type:"},
          HeaderList{"Content-Type: application/x-www-form-urlencoded"}}) {
      HttpReply r = httpPost(messages, messageJson("d", "b"), headers);
      INFO(r.body);
      CHECK(r.status == 415);
      CHECK(errorCode(r.body) == "unsupported_media_type");
    }
    // Parameters and case do not matter.
    HttpReply ok = httpPost(messages, messageJson("d", "b"),
                            {"Content-Type: Application/JSON; charset=utf-8"});
    CHECK(ok.status == 202);
  }

  SECTION("not JSON, or not an object") {
    for (const std::string& body : {std::string("{\"destination\":"), std::string("not json"),
                                    std::string(""), std::string("[1,2]"), std::string("\"s\"")}) {
      HttpReply r = httpPost(messages, body, kJson);
      INFO("body " << body << " -> " << r.body);
      CHECK(r.status == 400);
      CHECK(errorCode(r.body) == "invalid_json");
    }
  }

  SECTION("a field missing, empty, too long, of the wrong type, or unknown") {
    struct Case {
      std::string body;
      std::string field;
    };
    const std::string dest50(50, 'd'), dest51(51, 'd');
    const std::string body1000(1000, 'b'), body1001(1001, 'b');
    const std::vector<Case> cases = {
        {R"({"body":"b"})", "destination"},
        {R"({"destination":"d"})", "body"},
        {R"({})", "destination"},
        {R"({"destination":"","body":"b"})", "destination"},
        {R"({"destination":"d","body":""})", "body"},
        {messageJson(dest51, "b"), "destination"},
        {messageJson("d", body1001), "body"},
        {R"({"destination":7,"body":"b"})", "destination"},
        {R"({"destination":"d","body":null})", "body"},
        {R"({"destination":"d","body":["b"]})", "body"},
        {R"({"destination":"d","body":"b","priority":"high"})", "priority"},
        {R"({"destination":"d","body":"b","":1})", ""},
    };
    for (const auto& c : cases) {
      HttpReply r = httpPost(messages, c.body, kJson);
      INFO("body " << c.body.substr(0, 80) << " -> " << r.status << " " << r.body);
      CHECK(r.status == 400);
      CHECK(errorCode(r.body) == "invalid_field");
      CHECK(jsonString(r.body, "field") == c.field);
    }
    // The limits themselves are allowed.
    CHECK(httpPost(messages, messageJson(dest50, body1000), kJson).status == 202);
    CHECK(httpPost(messages, messageJson("d", "b"), kJson).status == 202);
  }

  // Only the requests that were meant to pass are in the relay and upstream.
  RelayStats st;
  REQUIRE(waitUntil(
      [&] {
        st = relayStats(s.redge);
        return st.valid && st.queue_depth == 0 && st.in_flight == 0 && st.status("delivering") == 0;
      },
      5000ms));
  INFO(st.raw);
  int64_t total =
      st.status("queued") + st.status("delivering") + st.status("sent") + st.status("failed");
  UpstreamStats up = s.upstream.stats();
  INFO(up.raw);
  CHECK(total == up.unique_delivered);
  CHECK(total == st.status("sent"));
  CHECK(up.requests == total);
  auto listed = parseMessageList(httpGet(s.redge.appUrl("/messages")).body);
  REQUIRE(listed);
  CHECK(static_cast<int64_t>(listed->size()) == total);
}

TEST_CASE("relay: a repeated Idempotency-Key answers the first id and enqueues nothing",
          "[relay]") {
  RelayStack s;
  HttpReply first = postMessage(s.redge, "d", "hello", "order-17");
  std::string id = accepted(first);

  HttpReply again = postMessage(s.redge, "d", "hello", "order-17");
  INFO(again.body);
  CHECK(again.status == 200);
  CHECK(jsonString(again.body, "id") == id);
  CHECK(again.body.find("\"duplicate\":true") != std::string::npos);
  // The key decides, not the content: a different body under the same key is
  // still the first message.
  HttpReply other_body = postMessage(s.redge, "elsewhere", "changed", "order-17");
  CHECK(other_body.status == 200);
  CHECK(jsonString(other_body.body, "id") == id);

  // Another key, or none, is a new message.
  std::string second = accepted(postMessage(s.redge, "d", "hello", "order-18"));
  std::string third = accepted(postMessage(s.redge, "d", "hello"));
  CHECK(second != id);
  CHECK(third != id);
  CHECK(third != second);

  REQUIRE(waitUntil([&] { return allSent(s.redge, {id, second, third}); }, 5000ms));
  UpstreamStats up = s.upstream.stats();
  INFO(up.raw);
  CHECK(up.requests == 3);
  CHECK(up.deliveriesOf(id) == 1);
  CHECK(up.deliveriesOf(second) == 1);
  CHECK(up.deliveriesOf(third) == 1);
  CHECK(up.duplicates == 0);

  // Replayed after delivery: still the same id, still nothing new.
  HttpReply late = postMessage(s.redge, "d", "hello", "order-17");
  CHECK(late.status == 200);
  CHECK(jsonString(late.body, "id") == id);
  RelayStats st = relayStats(s.redge);
  INFO(st.raw);
  CHECK(st.status("sent") == 3);
  CHECK(st.queue_depth == 0);
  CHECK(s.upstream.stats().requests == 3);
}

TEST_CASE("relay: GET /messages/{id}, GET /messages and GET /messages/stats answer their shapes",
          "[relay]") {
  RelayStack s;
  SECTION("an unknown id is 404 not_found") {
    HttpReply r = httpGet(s.redge.appUrl("/messages/m-no-such-id"));
    CHECK(r.status == 404);
    CHECK(errorCode(r.body) == "not_found");
  }

  SECTION("listing is newest first, filtered by status, bounded by limit") {
    std::vector<std::string> ids;
    for (int i = 0; i < 4; ++i) {
      ids.push_back(accepted(postMessage(s.redge, numbered("d", i), "b")));
      // created_at has millisecond resolution: keep the order unambiguous.
      std::this_thread::sleep_for(3ms);
    }
    REQUIRE(waitUntil([&] { return allSent(s.redge, ids); }, 5000ms));

    HttpReply all = httpGet(s.redge.appUrl("/messages"));
    REQUIRE(all.status == 200);
    auto listed = parseMessageList(all.body);
    INFO(all.body);
    REQUIRE(listed);
    REQUIRE(listed->size() == 4);
    for (size_t i = 0; i < 4; ++i) {
      CHECK((*listed)[i].id == ids[3 - i]);
      CHECK((*listed)[i].destination == numbered("d", static_cast<int>(3 - i)));
      CHECK((*listed)[i].status == "sent");
    }

    auto sent = parseMessageList(httpGet(s.redge.appUrl("/messages?status=sent&limit=2")).body);
    REQUIRE(sent);
    REQUIRE(sent->size() == 2);
    CHECK((*sent)[0].id == ids[3]);
    CHECK((*sent)[1].id == ids[2]);

    auto failed = parseMessageList(httpGet(s.redge.appUrl("/messages?status=failed")).body);
    REQUIRE(failed);
    CHECK(failed->empty());

    for (const char* query : {"status=lost", "status=SENT", "limit=0", "limit=-1", "limit=abc",
                              "limit=1001", "limit=5x"}) {
      HttpReply r = httpGet(s.redge.appUrl(std::string("/messages?") + query));
      INFO(query << " -> " << r.body);
      CHECK(r.status == 400);
      CHECK(errorCode(r.body) == "invalid_query");
    }
  }

  SECTION("stats has every field, with the configured gate and a closed breaker") {
    std::string id = accepted(postMessage(s.redge, "d", "b"));
    REQUIRE(waitUntil([&] { return allSent(s.redge, {id}); }, 5000ms));
    RelayStats st;
    REQUIRE(waitUntil(
        [&] {
          st = relayStats(s.redge);
          return st.valid && st.in_flight == 0;
        },
        3000ms));
    INFO(st.raw);
    CHECK(st.queue_depth == 0);
    CHECK(st.ready == 0);
    CHECK(st.held_by_breaker == 0);
    CHECK(st.processing == 0);
    CHECK(st.retry_scheduled == 0);
    CHECK(st.accepting);
    CHECK(st.gate_max == 10);
    CHECK(st.gate_recovery == 5);
    CHECK(st.breaker_state == "closed");
    CHECK(st.remaining_open_ms == 0);
    CHECK(st.opened_total == 0);
    CHECK(st.rejected_total == 0);
    CHECK(st.by_status == std::map<std::string, int64_t>{
                              {"queued", 0}, {"delivering", 0}, {"sent", 1}, {"failed", 0}});
    for (const auto& [kind, n] : st.failures_by_kind) {
      INFO(kind);
      CHECK(n == 0);
    }
    CHECK(scrapeMetric(s.redge, "redge_relay_enqueue_enabled") == 1.0);
    CHECK(scrapeMetric(s.redge, "redge_relay_queue_depth") == 0.0);
  }
}

TEST_CASE("relay: a body nested 120,000 levels deep is invalid_json and redge keeps serving",
          "[relay]") {
  // The route's body cap follows the field limits, so by default such a body
  // is a 413; raised, it reaches the JSON parser, which must refuse it at the
  // depth limit instead of recursing once per bracket.
  RelayStack s({"relay.max_body_bytes=400000"});
  const std::string messages = s.redge.appUrl("/messages");
  const size_t log_mark = s.redge.logText().size();

  std::string objects;
  for (int i = 0; i < 30000; ++i) objects += "{\"a\":";
  for (const std::string& body : {std::string(120000, '['), objects}) {
    HttpReply r = httpPost(messages, body, kJson);
    INFO(r.error << " " << r.status << " " << r.body);
    CHECK(r.status == 400);
    CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
    CHECK(errorCode(r.body) == "invalid_json");
    auto message = jsonString(r.body, "message");
    REQUIRE(message);
    CHECK(message->find("nested deeper than 64 levels") != std::string::npos);
  }

  // The same story in the log and the metric.
  REQUIRE(s.redge.waitForLog("error=invalid_json", 2000ms));
  auto lines = logLinesWith(s.redge.logText(), "event=http_error", log_mark);
  INFO(s.redge.logText().substr(log_mark));
  REQUIRE(lines.size() == 2);
  for (const std::string& line : lines) {
    CHECK(logfmtValue(line, "error") == "invalid_json");
    CHECK(logfmtValue(line, "status") == "400");
  }
  CHECK(scrapeMetric(s.redge, "redge_http_errors_total{service=\"app\",code=\"invalid_json\"}") ==
        2.0);

  // Still alive and serving, and the raised limit is real: a flat message
  // far longer than either deep body is accepted.
  REQUIRE(s.redge.running());
  HttpReply hello = httpGet(s.redge.appUrl("/"));
  CHECK(hello.status == 200);
  CHECK(hello.body == "hello world");
  std::string id = accepted(postMessage(s.redge, "d", std::string(300000, 'b')));
  REQUIRE(waitUntil([&] { return allSent(s.redge, {id}); }, 5000ms));
  RelayStats st = relayStats(s.redge);
  INFO(st.raw);
  CHECK(st.status("sent") == 1);
  CHECK(st.status("queued") + st.status("delivering") + st.status("failed") == 0);
}

TEST_CASE("relay: records edited in Redis still read back as valid JSON", "[relay]") {
  // Numbers that are not numbers and text that is not UTF-8, written into
  // Redis behind redge's back: every relay answer stays strict JSON, a bad
  // number reads as null and each invalid byte as U+FFFD.
  RelayStack s;
  const std::string id = accepted(postMessage(s.redge, "d", "b"));
  REQUIRE(waitUntil([&] { return allSent(s.redge, {id}); }, 5000ms));  // nothing writes it now
  RedisConnection redis(s.redis.port());
  redis.command({"HSET", "redge:relay:msg:" + id, "attempts", "3x", "created_at", "", "updated_at",
                 "1e3", "body", "bad \xFF byte", "last_error_kind", "time\xC0out",
                 "last_error_detail", "\"quoted\"\n"});
  redis.command({"HSET", "redge:relay:kinds", "weird\xFF", "many", "timeout", "2"});
  const std::string fffd = "\xEF\xBF\xBD";

  HttpReply one = httpGet(s.redge.appUrl("/messages/" + id));
  REQUIRE(one.status == 200);
  rapidjson::Document doc;
  parseStrict(one.body, doc);
  CHECK(doc["id"].GetString() == id);
  CHECK(doc["attempts"].IsNull());
  CHECK(doc["created_at"].IsNull());
  CHECK(doc["updated_at"].IsNull());
  CHECK(doc["body"].GetString() == "bad " + fffd + " byte");
  CHECK(doc["last_error"]["kind"].GetString() == "time" + fffd + "out");
  CHECK(doc["last_error"]["detail"].GetString() == std::string("\"quoted\"\n"));

  HttpReply list = httpGet(s.redge.appUrl("/messages"));
  REQUIRE(list.status == 200);
  parseStrict(list.body, doc);
  REQUIRE(doc["messages"].IsArray());
  REQUIRE(doc["messages"].Size() == 1);
  CHECK(doc["messages"][0]["attempts"].IsNull());
  CHECK(doc["messages"][0]["body"].GetString() == "bad " + fffd + " byte");

  HttpReply stats = httpGet(s.redge.appUrl("/messages/stats"));
  REQUIRE(stats.status == 200);
  parseStrict(stats.body, doc);
  const auto& kinds = doc["failures_by_kind"];
  REQUIRE(kinds.IsObject());
  CHECK(kinds.MemberCount() == 2);
  REQUIRE(kinds.HasMember("weird" + fffd));
  CHECK(kinds["weird" + fffd].IsNull());
  CHECK(kinds["timeout"].GetInt64() == 2);
}
