// servingStatusText: the STATUS= line `systemctl status` shows, in each
// phase and with Redis up, down or not yet tried. The notifier's socket
// traffic is tested against the real binary (systemd_notify_test).

#include "ops/systemd/systemd_notifier.hpp"

#include <catch2/catch.hpp>

using redge::ServingStatus;
using redge::servingStatusText;

TEST_CASE("systemd status: the words of each phase", "[systemd]") {
  ServingStatus s;
  CHECK(servingStatusText(s) == "starting; redis connecting");
  s.phase = ServingStatus::Phase::Serving;
  s.redis_tried = true;
  s.redis_connected = true;
  s.listeners = 3;
  CHECK(servingStatusText(s) == "serving; redis connected; 3 listeners");
  s.listeners = 1;
  s.redis_connected = false;
  CHECK(servingStatusText(s) == "serving; redis down, reconnecting; 1 listener");
  s.phase = ServingStatus::Phase::Reloading;
  CHECK(servingStatusText(s) == "reloading the configuration; redis down, reconnecting");
  s.phase = ServingStatus::Phase::Draining;
  s.open_connections = 2;
  CHECK(servingStatusText(s) == "draining; 2 in flight");
}
