// HttpExchange: the handle a forwarder holds, each call finding its
// connection by id (see the header).

#include "net/http/http_exchange.hpp"

#include "net/http/http_connection.hpp"
#include "net/http/http_server.hpp"

namespace redge {

HttpConnection* HttpExchange::connection() const {
  if (server_ == nullptr) return nullptr;
  HttpConnection* c = server_->findHttpConnection(connection_id_);
  return c != nullptr && c->streamAlive() ? c : nullptr;
}

bool HttpExchange::alive() const {
  return connection() != nullptr;
}

void HttpExchange::attach(HttpStreamHandler* handler) const {
  if (HttpConnection* c = connection()) c->streamAttach(handler);
}

void HttpExchange::pauseRequest() const {
  if (HttpConnection* c = connection()) c->streamPauseRequest();
}

void HttpExchange::resumeRequest() const {
  if (HttpConnection* c = connection()) c->streamResumeRequest();
}

void HttpExchange::writeInterim(
    int status, const std::vector<std::pair<std::string_view, std::string_view>>& headers) const {
  if (HttpConnection* c = connection()) c->streamWriteInterim(status, headers);
}

void HttpExchange::writeHead(const HttpStreamHead& head) const {
  if (HttpConnection* c = connection()) c->streamWriteHead(head);
}

void HttpExchange::writeBody(std::string_view data) const {
  if (HttpConnection* c = connection()) c->streamWriteBody(data);
}

void HttpExchange::end() const {
  if (HttpConnection* c = connection()) c->streamEnd();
}

void HttpExchange::abort() const {
  if (HttpConnection* c = connection()) c->streamAbort();
}

bool HttpExchange::wantsMore() const {
  HttpConnection* c = connection();
  return c != nullptr && c->streamWantsMore();
}

void HttpExchange::startTunnel() const {
  if (HttpConnection* c = connection()) c->streamStartTunnel();
}

void HttpExchange::writeTunnel(std::string_view data) const {
  if (HttpConnection* c = connection()) c->streamWriteTunnel(data);
}

}  // namespace redge
