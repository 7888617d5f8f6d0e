// Listener set-up shared by HttpServer and RespServer.

#include "net/tcp_listen.hpp"

#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>

namespace redge {
namespace {

bool reuse_port = false;

// libuv 1.44 (Debian 12) has no UV_TCP_REUSEPORT, and uv_tcp_bind creates
// and binds its socket in one call: the option must be on the socket before
// bind, so the socket is made here and handed to the handle.
int openReusePortSocket(uv_tcp_t* listener, int family) {
  int fd = ::socket(family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return uv_translate_sys_error(errno);
  int one = 1;
  if (::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) != 0) {
    int rc = uv_translate_sys_error(errno);
    ::close(fd);
    return rc;
  }
  int rc = uv_tcp_open(listener, fd);
  if (rc != 0) ::close(fd);
  return rc;
}

}  // namespace

void setTcpReusePort(bool on) {
  reuse_port = on;
}

int tcpBindAndListen(uv_tcp_t* listener, const std::string& bind, int port,
                     uv_connection_cb on_connection, int& bound_port) {
  struct sockaddr_storage addr;
  int rc;
  if (bind.find(':') != std::string::npos) {
    rc = uv_ip6_addr(bind.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr));
  } else {
    rc = uv_ip4_addr(bind.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr));
  }
  if (rc == 0 && reuse_port) rc = openReusePortSocket(listener, addr.ss_family);
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
