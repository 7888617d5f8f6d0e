// The app service's routes.
//
// Redis layout (prefix "redge:" by default):
//   <prefix>app:message  string, SET ... EX message_ttl_s
//   <prefix>app:recent   list of visited URLs, newest first, trimmed to recent_size
//   <prefix>app:images   list of images, newest first, trimmed to max_images;
//                        each entry is "<content type>\0<bytes>" so one LPOP
//                        takes an image and its type atomically: two
//                        concurrent /meow can never get the same image.
//
// GET / answers without touching Redis beyond the batched /recent record, so
// it costs no allocation of its own; the other routes send one command each.

#include "services/app/app_service.hpp"

#include <charconv>

#include "core/base64.hpp"
#include "core/json_writer.hpp"
#include "core/log.hpp"
#include "net/http/multipart_parser.hpp"
#include "redis/redis_reply.hpp"
#include "services/app/html.hpp"
#include "services/app/image_sniff.hpp"
#include "services/redis_failure.hpp"

namespace redge {
namespace {

// An image record starts with the content type image sniffing chose (a few
// bytes: "image/jpeg"); a longer prefix than this is not a record of ours.
constexpr size_t kMaxStoredTypeBytes = 64;

// The /meow page's HTML around the inline image, with room to spare.
constexpr size_t kMeowPageMarkupBytes = 512;

// Collects the `image` field of a multipart body, bounded by max_bytes.
class ImageFieldCollector final : public MultipartHandler {
 public:
  explicit ImageFieldCollector(size_t max_bytes) : max_bytes_(max_bytes) {}
  void onPartBegin(const MultipartPartInfo& info) override {
    in_image_ = info.name == "image" && !found_;
    if (in_image_) found_ = true;
  }
  void onPartData(std::string_view data) override {
    if (!in_image_) return;
    if (data_.size() + data.size() > max_bytes_) {
      too_large_ = true;
      return;
    }
    data_.append(data);
  }
  void onPartEnd() override { in_image_ = false; }

  bool found() const { return found_; }
  bool tooLarge() const { return too_large_; }
  std::string& data() { return data_; }

 private:
  size_t max_bytes_;
  bool in_image_ = false;
  bool found_ = false;
  bool too_large_ = false;
  std::string data_;
};

bool acceptsJson(const HttpRequest& req) {
  return req.header("Accept").find("application/json") != std::string_view::npos;
}

// Raw image bytes for clients that ask for an image and not for a page.
bool wantsRawImage(const HttpRequest& req) {
  std::string_view accept = req.header("Accept");
  return accept.find("image/") != std::string_view::npos &&
         accept.find("text/html") == std::string_view::npos;
}

}  // namespace

AppService::AppService(Runtime& runtime, HttpServer& server, RedisClient& redis,
                       std::shared_ptr<ReplicaReads> reads, AppOptions options)
    : hooks_(runtime.hooks),
      server_(server),
      redis_(redis),
      reads_(std::move(reads)),
      options_(std::move(options)),
      message_key_(options_.key_prefix + "app:message"),
      recent_key_(options_.key_prefix + "app:recent"),
      images_key_(options_.key_prefix + "app:images"),
      recent_trim_stop_(std::to_string(options_.recent_size - 1)),
      recent_(static_cast<size_t>(options_.recent_size)),
      images_stored_(
          runtime.metrics.counter("redge_app_images_stored_total", "Images accepted by /upload")),
      images_served_(
          runtime.metrics.counter("redge_app_images_served_total", "Images taken by /meow")) {
  flush_hook_ = hooks_.addAfterPoll([this] { flushRecent(); });

  server_.observeRequests([this](HttpRequest& req) { recent_.record(req.target()); });
  server_.route(HttpMethod::Get, "/",
                [this](HttpRequest& q, const HttpResponder& r) { hello(q, r); });
  server_.route(HttpMethod::Get, "/set",
                [this](HttpRequest& q, const HttpResponder& r) { set(q, r); });
  server_.route(HttpMethod::Get, "/get",
                [this](HttpRequest& q, const HttpResponder& r) { get(q, r); });
  server_.route(HttpMethod::Get, "/recent",
                [this](HttpRequest& q, const HttpResponder& r) { recent(q, r); });
  // Multipart framing adds a little to the image itself.
  server_.route(
      HttpMethod::Post, "/upload", [this](HttpRequest& q, const HttpResponder& r) { upload(q, r); },
      options_.max_upload_bytes + 65536);
  server_.route(HttpMethod::Get, "/meow",
                [this](HttpRequest& q, const HttpResponder& r) { meow(q, r); });
}

void AppService::start() {
  // Every module has mounted its routes by now (the relay's on this
  // listener): a binding that names none is a mistake in app.flags.
  for (const auto& [route, flag] : options_.flags) {
    if (server_.hasRoute(route)) continue;
    REDGE_LOG(Warn, "flag_binding_unused")
        .kv("route", route)
        .kv("flag", flag)
        .kv("reason", "no route of the app listener has this pattern")
        .kv("key", "app.flags");
  }
}

void AppService::close(std::function<void()> done) {
  if (flush_hook_ != 0) {
    hooks_.remove(flush_hook_);
    flush_hook_ = 0;
  }
  if (!closed_) reads_->detach();
  closed_ = true;
  if (done) done();  // no handle of its own to wait for
}

void AppService::flushRecent() {
  if (recent_.empty() || !redis_.ready()) return;
  recent_args_.clear();
  recent_args_.push_back("LPUSH");
  recent_args_.push_back(recent_key_);
  recent_.take(recent_args_);
  redis_.command(recent_args_, nullptr);
  redis_.command({"LTRIM", recent_key_, "0", recent_trim_stop_}, nullptr);
}

void AppService::hello(HttpRequest&, const HttpResponder& res) {
  res.send(HttpResponse(200, "text/plain; charset=utf-8", "hello world"));
}

void AppService::set(HttpRequest&, const HttpResponder& res) {
  std::string ttl = std::to_string(options_.message_ttl_s);
  redis_.command({"SET", message_key_, kMessage, "EX", ttl},
                 [this, res, ttl](RedisStatus s, const redisReply* reply) {
                   if (s != RedisStatus::Ok) return answerRedisFailure(res, s, reply, redis_);
                   std::string body = "stored: ";
                   body.append(kMessage).append(" (expires in ").append(ttl).append(" s)\n");
                   res.send(HttpResponse(200, "text/plain; charset=utf-8", body));
                 });
}

void AppService::get(HttpRequest&, const HttpResponder& res) {
  redis_.command({"GET", message_key_}, [this, res](RedisStatus s, const redisReply* reply) {
    if (s != RedisStatus::Ok) return answerRedisFailure(res, s, reply, redis_);
    if (reply->type == REDIS_REPLY_NIL) {
      return res.sendError(404, "not_found",
                           "No message is stored, or it has expired; GET /set stores a new one.");
    }
    if (reply->type != REDIS_REPLY_STRING)
      return answerRedisFailure(res, RedisStatus::Ok, reply, redis_);
    res.send(HttpResponse(200, "text/plain; charset=utf-8", replyText(reply)));
  });
}

void AppService::recent(HttpRequest& req, const HttpResponder& res) {
  // The visits recorded so far (this request's included) must reach Redis
  // before the LRANGE that reads them: same connection, so sending them
  // first is enough. With redis.read_from=replica the LRANGE goes to the
  // replica, which may not have them yet: /recent tolerates that lag.
  flushRecent();
  bool json = acceptsJson(req);
  reads_->read({"LRANGE", recent_key_, "0", recent_trim_stop_},
               [this, res, json](RedisStatus s, const redisReply* reply) {
                 if (s != RedisStatus::Ok) return answerRedisFailure(res, s, reply, redis_);
                 if (reply->type != REDIS_REPLY_ARRAY) {
                   return answerRedisFailure(res, RedisStatus::Ok, reply, redis_);
                 }
                 std::string body;
                 if (json) {
                   JsonWriter w(body);
                   w.startArray();
                   for (size_t i = 0; i < reply->elements; ++i) {
                     w.string(replyText(reply->element[i]));
                   }
                   w.endArray();
                   return res.send(HttpResponse(200, "application/json", body));
                 }
                 body.append(
                     "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>Recently "
                     "visited</title></head><body>\n<h1>Recently visited</h1>\n<ol>\n");
                 for (size_t i = 0; i < reply->elements; ++i) {
                   body.append("<li>");
                   appendHtmlEscaped(body, replyText(reply->element[i]));
                   body.append("</li>\n");
                 }
                 body.append("</ol>\n</body></html>\n");
                 res.send(HttpResponse(200, "text/html; charset=utf-8", body));
               });
}

void AppService::upload(HttpRequest& req, const HttpResponder& res) {
  std::string boundary;
  if (!extractMultipartBoundary(req.header("Content-Type"), boundary)) {
    return res.sendError(415, "unsupported_media_type",
                         "Send the image as multipart/form-data with a boundary, in a field named "
                         "'image' (curl -F image=@cat.jpg).");
  }
  ImageFieldCollector collector(static_cast<size_t>(options_.max_upload_bytes));
  MultipartParser parser(boundary, collector);
  if (!parser.feed(req.body()) || !parser.finish()) {
    std::string message = "The multipart body is malformed: ";
    message.append(multipartErrorText(parser.error()));
    return res.sendError(400, "invalid_multipart", message);
  }
  if (!collector.found()) {
    return res.sendError(400, "missing_image",
                         "The form has no field named 'image'; send curl -F image=@cat.jpg.");
  }
  if (collector.tooLarge()) {
    return res.sendError(413, "image_too_large",
                         "The image exceeds " + std::to_string(options_.max_upload_bytes) +
                             " bytes (app.max_upload_bytes).");
  }
  std::string& image = collector.data();
  std::string_view type = sniffImageType(image);
  if (type.empty()) {
    return res.sendError(415, "not_an_image",
                         "The 'image' field is not a JPEG, PNG, GIF or WebP file.");
  }
  std::string record;
  record.reserve(type.size() + 1 + image.size());
  record.append(type).push_back('\0');
  record.append(image);
  size_t bytes = image.size();
  std::string trim_stop = std::to_string(options_.max_images - 1);
  int64_t max_images = options_.max_images;
  redis_.command({"LPUSH", images_key_, record},
                 [this, res, bytes, type, max_images](RedisStatus s, const redisReply* reply) {
                   if (s != RedisStatus::Ok) return answerRedisFailure(res, s, reply, redis_);
                   int64_t depth = reply->type == REDIS_REPLY_INTEGER ? reply->integer : 0;
                   if (depth > max_images) depth = max_images;
                   images_stored_.inc();
                   std::string body;
                   JsonWriter w(body);
                   w.startObject();
                   w.key("bytes").integer(static_cast<int64_t>(bytes));
                   w.key("content_type").string(type);
                   w.key("stack_depth").integer(depth);
                   w.endObject();
                   res.send(HttpResponse(201, "application/json", body));
                 });
  redis_.command({"LTRIM", images_key_, "0", trim_stop}, nullptr);
}

void AppService::meow(HttpRequest& req, const HttpResponder& res) {
  bool raw = wantsRawImage(req);
  redis_.command({"LPOP", images_key_}, [this, res, raw](RedisStatus s, const redisReply* reply) {
    if (s != RedisStatus::Ok) return answerRedisFailure(res, s, reply, redis_);
    if (reply->type == REDIS_REPLY_NIL) {
      return res.sendError(
          404, "not_found",
          "The image stack is empty; upload one with POST /upload (field 'image').");
    }
    if (reply->type != REDIS_REPLY_STRING)
      return answerRedisFailure(res, RedisStatus::Ok, reply, redis_);
    std::string_view record = replyText(reply);
    size_t nul = record.find('\0');
    if (nul > kMaxStoredTypeBytes) {  // npos (no NUL) included
      return res.sendError(500, "corrupt_image_record",
                           "The stored image record is not in redge's format; it was removed.");
    }
    std::string_view type = record.substr(0, nul);
    std::string_view bytes = record.substr(nul + 1);
    images_served_.inc();
    if (raw) {
      HttpResponse r(200, type, bytes);
      r.header("Cache-Control", "no-store");
      return res.send(r);
    }
    std::string page;
    page.reserve(base64Size(bytes.size()) + kMeowPageMarkupBytes);
    page.append(
        "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>meow</title></head>"
        "<body>\n<img alt=\"the newest image\" src=\"data:");
    appendHtmlEscaped(page, type);
    page.append(";base64,");
    appendBase64(page, bytes);
    page.append("\">\n</body></html>\n");
    HttpResponse r(200, "text/html; charset=utf-8", page);
    r.header("Cache-Control", "no-store");
    res.send(r);
  });
}

}  // namespace redge
