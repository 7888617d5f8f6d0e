#pragma once
// Binds an initialised uv_tcp_t to a literal IPv4/IPv6 address and listens,
// for every listener of redge (HTTP and RESP alike).

#include <uv.h>

#include <string>

namespace redge {

// Returns 0 and the port actually bound (useful with port 0), or a libuv
// error. On error the handle is left open for the caller to close.
int tcpBindAndListen(uv_tcp_t* listener, const std::string& bind, int port,
                     uv_connection_cb on_connection, int& bound_port);

// SO_REUSEPORT on every listener bound from now on: the worker processes of
// one group (server.workers > 1) each bind every port and the kernel spreads
// new connections over them. Off by default, so a single process that finds
// its port taken fails at start-up as before instead of sharing it. Set once,
// before the first listen; per process, not per loop.
void setTcpReusePort(bool on);

}  // namespace redge
