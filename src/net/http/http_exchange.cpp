// HttpExchange: the handle a forwarder holds, each call finding its
// connection by id and checking the exchange number (see the header).

#include "net/http/http_exchange.hpp"

#include "net/http/http_connection.hpp"
#include "net/http/http_server.hpp"

namespace redge {

HttpConnection* HttpExchange::connection() const {
  if (server_ == nullptr) return nullptr;
  HttpConnection* c = server_->findHttpConnection(connection_id_);
  return c != nullptr && c->streamAlive(exchange_) ? c : nullptr;
}

bool HttpExchange::alive() const {
  return connection() != nullptr;
}

void HttpExchange::attach(HttpStreamHandler* handler) const {
  if (HttpConnection* c = connection()) c->streamAttach(handler);
}

int64_t HttpExchange::requestBodyLength() const {
  HttpConnection* c = connection();
  return c != nullptr ? c->streamRequestBodyLength() : 0;
}

bool HttpExchange::upgradeRequested() const {
  HttpConnection* c = connection();
  return c != nullptr && c->streamUpgradeRequested();
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

bool HttpExchange::writeHead(const HttpStreamHead& head) const {
  HttpConnection* c = connection();
  return c != nullptr && c->streamWriteHead(head);
}

bool HttpExchange::writeBody(std::string_view data) const {
  HttpConnection* c = connection();
  return c != nullptr && c->streamWriteBody(data);
}

void HttpExchange::end() const {
  if (HttpConnection* c = connection()) c->streamEnd();
}

void HttpExchange::respond(const HttpResponse& response) const {
  if (HttpConnection* c = connection()) c->streamRespond(response);
}

void HttpExchange::sendError(int status, std::string_view code, std::string_view message,
                             int retry_after_s, std::initializer_list<ErrorField> extra) const {
  HttpConnection* c = connection();
  if (c == nullptr) return;
  server_->recordError(status, code, message);
  deliverErrorResponse(status, code, message, retry_after_s, extra,
                       [c](const HttpResponse& r) { c->streamRespond(r); });
}

std::string_view HttpExchange::peerAddress() const {
  HttpConnection* c = connection();
  return c != nullptr ? c->peerAddress() : std::string_view();
}

void HttpExchange::abort() const {
  if (HttpConnection* c = connection()) c->streamAbort();
}

bool HttpExchange::wantsMore() const {
  HttpConnection* c = connection();
  return c != nullptr && c->streamWantsMore();
}

}  // namespace redge
