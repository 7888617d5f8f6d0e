// The client side of a tunnel through a forwarder (see the header).

#include "support/tunnel_client.hpp"

#include "support/wait_until.hpp"

namespace redge_test {

std::optional<RawResponse> requestUpgrade(RawConnection& c, const std::string& target,
                                          const std::string& extra) {
  if (!c.send("GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\n" +
              "Upgrade: websocket\r\n" + extra + "\r\n")) {
    return std::nullopt;
  }
  return c.readResponse(std::chrono::seconds(5));
}

bool sendThroughTunnel(RawConnection& c, std::string_view data, std::chrono::milliseconds timeout) {
  const size_t want = c.pending().size() + data.size();
  if (!c.send(data, timeout)) return false;
  waitUntil(
      [&] {
        c.readFor(std::chrono::milliseconds(50));
        return c.pending().size() >= want || c.peerClosed();
      },
      timeout, std::chrono::milliseconds(1));
  return true;
}

}  // namespace redge_test
