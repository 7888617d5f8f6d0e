// The admin token against the real binary: every route family that changes
// something (flags, spawn and destroy, and paths no module has mounted yet:
// canary, reload) is refused without the token (401 with WWW-Authenticate)
// and with a wrong one (403), with the error model's body, log line and
// metric; accepted with it; reads stay open. The token can come from a
// file; a bad token configuration stops start-up.

#include <catch2/catch.hpp>
#include <fstream>
#include <string>
#include <vector>

#include "support/json_fields.hpp"
#include "support/metrics_text.hpp"
#include "support/test_stack.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

const std::string kToken = "t0ken-7f3a9c";

struct Mutation {
  std::string method;
  std::string path;
  std::string body;
};

// One request of each mutating family on the admin listener. The flag is
// created first so that switching and deleting it succeed with the token.
const std::vector<Mutation> kMutations = {
    {"PUT", "/flags/guarded", R"({"enabled": true, "rollout": 50})"},
    {"POST", "/flags/guarded/off", ""},
    {"POST", "/flags/guarded/on", ""},
    {"DELETE", "/flags/guarded", ""},
    {"POST", "/spawn", R"({"service":"web"})"},
    {"POST", "/destroy", R"({"id":"web-none"})"},
    {"POST", "/canary/web", R"({"weights":{"stable":90,"canary":10}})"},
    {"POST", "/reload", ""},
    {"PATCH", "/flags/guarded", "{}"},
};

HttpReply send(const TestStack& s, const Mutation& m, const HeaderList& auth) {
  HeaderList headers = auth;
  headers.push_back("Content-Type: application/json");
  return httpRequest(m.method, s.admin(m.path), m.body, headers);
}

}  // namespace

TEST_CASE("admin token: every mutating route needs it, reads stay open", "[admin][auth]") {
  TestStack s({"admin.token=" + kToken, "discovery.enabled=true", "discovery.register_self=false"});

  int refused_401 = 0, refused_403 = 0;
  for (const Mutation& m : kMutations) {
    INFO(m.method << " " << m.path);
    HttpReply none = send(s, m, {});
    CHECK(none.status == 401);
    CHECK(errorCode(none.body) == "unauthorized");
    CHECK(none.header("WWW-Authenticate").rfind("Bearer", 0) == 0);
    CHECK(jsonString(none.body, "message").value_or("").find("Authorization: Bearer") !=
          std::string::npos);
    ++refused_401;

    HttpReply basic = send(s, m, {"Authorization: Basic dXNlcjpwYXNz"});
    CHECK(basic.status == 401);
    ++refused_401;

    HttpReply wrong = send(s, m, {"Authorization: Bearer " + kToken + "x"});
    CHECK(wrong.status == 403);
    CHECK(errorCode(wrong.body) == "forbidden");
    ++refused_403;

    HttpReply right = send(s, m, {"Authorization: Bearer " + kToken});
    CHECK(right.status != 401);
    CHECK(right.status != 403);
    if (m.path.rfind("/flags/", 0) == 0 && m.method != "PATCH") {
      CHECK(right.status / 100 == 2);  // the flag routes did their work
    }
    if (m.path == "/reload" || m.path == "/canary/web") {
      CHECK(right.status == 404);  // not mounted: past the token, the router's answer
    }
  }

  // Reads need nothing: the dashboard, its stream, metrics, health, flags,
  // the registry, and OFREP evaluations (POST, but reads by protocol).
  for (const char* path : {"/dashboard", "/metrics", "/healthz", "/flags", "/listservers"}) {
    INFO(path);
    CHECK(httpGet(s.admin(path)).status == 200);
  }
  HttpReply ofrep = httpPost(s.admin("/ofrep/v1/evaluate/flags/absent"), "{}",
                             {"Content-Type: application/json"});
  CHECK(ofrep.status == 404);
  CHECK(errorCode(ofrep.body) != "unauthorized");

  // The error model: the same codes in the metric and the log.
  std::string text = httpGet(s.admin("/metrics")).body;
  CHECK(metricValue(text, "redge_http_errors_total{service=\"admin\",code=\"unauthorized\"}") ==
        refused_401);
  CHECK(metricValue(text, "redge_http_errors_total{service=\"admin\",code=\"forbidden\"}") ==
        refused_403);
  CHECK(s.redge.logText().find("error=unauthorized") != std::string::npos);
  CHECK(s.redge.logText().find("error=forbidden") != std::string::npos);
  // The token itself is never logged.
  CHECK(s.redge.logText().find(kToken) == std::string::npos);
}

TEST_CASE("admin token: without one, mutating routes are open on loopback", "[admin][auth]") {
  TestStack s;
  HttpReply put = send(s, kMutations[0], {});
  CHECK(put.status / 100 == 2);
}

TEST_CASE("admin token: read from admin.token_file at start", "[admin][auth]") {
  TempDir dir;
  std::string path = dir.path() + "/admin-token";
  std::ofstream(path) << kToken << "\n";
  TestStack s({"admin.token_file=" + path});
  CHECK(send(s, kMutations[0], {}).status == 401);
  CHECK(send(s, kMutations[0], {"Authorization: Bearer wrong"}).status == 403);
  CHECK(send(s, kMutations[0], {"Authorization: Bearer " + kToken}).status / 100 == 2);
  // The token is not part of the configuration it prints.
  RedgeRun check = runRedge(s.dir, {"--set", "admin.token_file=" + path, "--check-config"});
  CHECK(check.exit_code == 0);
  CHECK(check.out.find(kToken) == std::string::npos);
}

TEST_CASE("admin token: both keys, or a file that cannot be read, stop start-up", "[admin][auth]") {
  TempDir dir;
  std::string path = dir.path() + "/admin-token";
  std::ofstream(path) << kToken << "\n";
  RedgeRun both = runRedge(
      dir, {"--set", "admin.token=x", "--set", "admin.token_file=" + path, "--check-config"});
  CHECK(both.exit_code == 2);
  CHECK(both.err.find("admin.token_file") != std::string::npos);

  // The file is read when redge starts (--check-config does not read it).
  RedgeRun missing = runRedge(dir, {"--set", "admin.token_file=" + dir.path() + "/absent"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("cannot read") != std::string::npos);

  std::ofstream(path) << "\n";
  RedgeRun empty = runRedge(dir, {"--set", "admin.token_file=" + path});
  CHECK(empty.exit_code == 2);
  CHECK(empty.err.find("no token") != std::string::npos);
}
