// Listener set-up shared by HttpServer and RespServer.

#include "net/tcp_listen.hpp"

namespace redge {

int tcpBindAndListen(uv_tcp_t* listener, const std::string& bind, int port,
                     uv_connection_cb on_connection, int& bound_port) {
  struct sockaddr_storage addr;
  int rc;
  if (bind.find(':') != std::string::npos) {
    rc = uv_ip6_addr(bind.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
  } else {
    rc = uv_ip4_addr(bind.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  }
  if (rc == 0) rc = uv_tcp_bind(listener, reinterpret_cast<const sockaddr*>(&addr), 0);
  // A deep backlog: a burst of connects must not be refused by the kernel
  // before redge even sees it (the connection limit answers with a 503).
  if (rc == 0) rc = uv_listen(reinterpret_cast<uv_stream_t*>(listener), 1024, on_connection);
  if (rc != 0) return rc;
  struct sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(listener, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port = bound.ss_family == AF_INET6
                   ? ntohs(reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port)
                   : ntohs(reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
  return 0;
}

}  // namespace redge
