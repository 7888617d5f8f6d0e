#pragma once
// The client side of a WebSocket-style tunnel through a forwarder, for the
// tests of the gateway and of stream_forwarder: the upgrade request, and
// bytes sent through the tunnel read back from fake_upstream's echo. The
// caller asserts on what they return.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "support/raw_connection.hpp"

namespace redge_test {

// Sends `GET <target>` asking to upgrade to websocket (with `extra` header
// lines, each ending in CRLF) and reads the answer's head.
std::optional<RawResponse> requestUpgrade(RawConnection& c, const std::string& target = "/upgrade",
                                          const std::string& extra = "");

// Sends `data` through an open tunnel and reads until as many bytes are
// pending (more than every buffer on the path, for large data: both
// directions have to stop and go), the peer closes, or `timeout` passes.
// False when the send itself failed.
bool sendThroughTunnel(RawConnection& c, std::string_view data,
                       std::chrono::milliseconds timeout = std::chrono::seconds(30));

}  // namespace redge_test
