// POST /upload and GET /meow: the image stack in Redis, from a real multipart
// upload to the raw bytes or the data-URL page coming back, newest first.

#include <algorithm>
#include <catch2/catch.hpp>
#include <set>
#include <thread>

#include "support/http_client.hpp"
#include "support/image_fixtures.hpp"
#include "support/json_fields.hpp"
#include "support/raw_connection.hpp"
#include "support/test_stack.hpp"

using namespace redge_test;
using namespace std::chrono_literals;

namespace {

HttpReply uploadImage(const TestStack& s, const std::string& bytes, const std::string& filename,
                      const std::string& type) {
  return httpUpload(s.app("/upload"), {{"image", bytes, filename, type}});
}

long long imagesInRedis(const TestStack& s) {
  return s.redis.command({"LLEN", "redge:app:images"}).integer;
}

}  // namespace

TEST_CASE("upload: PNG JPEG GIF and WebP images are stored", "[app][upload]") {
  TestStack s;
  struct Case {
    std::string bytes;
    std::string filename;
    std::string type;
  };
  const std::vector<Case> cases = {{pngImage(300), "cat.png", "image/png"},
                                   {jpegImage(400), "cat.jpg", "image/jpeg"},
                                   {gifImage(500), "cat.gif", "image/gif"},
                                   {webpImage(600), "cat.webp", "image/webp"}};
  int depth = 0;
  for (const auto& c : cases) {
    INFO(c.filename);
    HttpReply r = uploadImage(s, c.bytes, c.filename, c.type);
    REQUIRE(r.status == 201);
    CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
    CHECK(jsonInt(r.body, "bytes") == static_cast<int64_t>(c.bytes.size()));
    CHECK(jsonString(r.body, "content_type") == c.type);
    CHECK(jsonInt(r.body, "stack_depth") == ++depth);
  }
  CHECK(imagesInRedis(s) == 4);
}

TEST_CASE("upload: the type comes from the bytes and not from the client's label",
          "[app][upload]") {
  TestStack s;
  HttpReply r = uploadImage(s, gifImage(200), "cat.png", "image/png");
  REQUIRE(r.status == 201);
  CHECK(jsonString(r.body, "content_type") == std::string("image/gif"));
}

TEST_CASE("upload: a text file is 415 not_an_image", "[app][upload]") {
  TestStack s;
  HttpReply r = uploadImage(s, "just some words, not a picture\n", "notes.txt", "text/plain");
  REQUIRE(r.status == 415);
  CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(r.body) == "not_an_image");
  CHECK(imagesInRedis(s) == 0);
}

TEST_CASE("upload: a form without the image field is 400 missing_image", "[app][upload]") {
  TestStack s;
  HttpReply r = httpUpload(s.app("/upload"), {{"other", pngImage(100), "cat.png", "image/png"}});
  REQUIRE(r.status == 400);
  CHECK(errorCode(r.body) == "missing_image");
}

TEST_CASE("upload: a broken multipart body is 400 invalid_multipart", "[app][upload]") {
  TestStack s;
  HttpReply r = httpPost(s.app("/upload"), "this is not multipart at all, no boundary anywhere",
                         {"Content-Type: multipart/form-data; boundary=XyZzY"});
  REQUIRE(r.status == 400);
  CHECK(r.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(r.body) == "invalid_multipart");
  CHECK(stillServes(s.redge));
}

TEST_CASE("upload: a body that is not multipart is 415 unsupported_media_type", "[app][upload]") {
  TestStack s;
  SECTION("JSON") {
    HttpReply r =
        httpPost(s.app("/upload"), "{\"image\":\"x\"}", {"Content-Type: application/json"});
    REQUIRE(r.status == 415);
    CHECK(errorCode(r.body) == "unsupported_media_type");
  }
  SECTION("raw image bytes") {
    HttpReply r = httpPost(s.app("/upload"), pngImage(100), {"Content-Type: image/png"});
    REQUIRE(r.status == 415);
    CHECK(errorCode(r.body) == "unsupported_media_type");
  }
}

TEST_CASE("upload: the stack keeps at most app.max_images", "[app][upload]") {
  TestStack s({"app.max_images=3"});
  std::vector<std::string> images;
  for (unsigned i = 0; i < 5; ++i) {
    images.push_back(pngImage(200 + i, 10 + i));
    HttpReply r = uploadImage(s, images.back(), "cat.png", "image/png");
    REQUIRE(r.status == 201);
    CHECK(jsonInt(r.body, "stack_depth") == std::min<int64_t>(i + 1, 3));
  }
  CHECK(imagesInRedis(s) == 3);
  // The oldest were dropped: the three newest come back, newest first.
  for (int i = 4; i >= 2; --i) {
    HttpReply m = httpGet(s.app("/meow"), {"Accept: image/*"});
    REQUIRE(m.status == 200);
    CHECK(m.body == images[static_cast<size_t>(i)]);
  }
  CHECK(httpGet(s.app("/meow"), {"Accept: image/*"}).status == 404);
}

TEST_CASE("upload: an image over app.max_upload_bytes is 413", "[app][upload]") {
  TestStack s({"app.max_upload_bytes=1000"});
  SECTION("within the framing allowance: the image itself is too large") {
    HttpReply r = uploadImage(s, pngImage(5000), "big.png", "image/png");
    REQUIRE(r.status == 413);
    std::string code = errorCode(r.body);
    CHECK((code == "image_too_large" || code == "body_too_large"));
    CHECK(imagesInRedis(s) == 0);
  }
  SECTION("beyond the framing allowance: refused at the headers") {
    // 100 KiB exceeds max_upload_bytes + 64 KiB, so the answer must come from
    // the declared length, before any of the body is sent.
    std::string body =
        multipartBody("b0undary", {{"image", pngImage(100 * 1024), "big.png", "image/png"}});
    RawConnection c(s.redge.appPort());
    REQUIRE(
        c.send("POST /upload HTTP/1.1\r\nHost: x\r\n"
               "Content-Type: multipart/form-data; boundary=b0undary\r\n"
               "Content-Length: " +
               std::to_string(body.size()) + "\r\n\r\n"));
    auto r = c.readResponse(1000ms);
    REQUIRE(r);
    CHECK(r->status == 413);
    CHECK(errorCode(r->body) == "body_too_large");
    CHECK(c.waitForClose(2000ms));
    CHECK(imagesInRedis(s) == 0);
  }
  CHECK(stillServes(s.redge));
}

TEST_CASE("meow: images come back newest first as raw bytes and then 404", "[app][meow]") {
  TestStack s;
  std::string png = pngImage(700);
  std::string gif = gifImage(333);
  REQUIRE(uploadImage(s, png, "a.png", "image/png").status == 201);
  REQUIRE(uploadImage(s, gif, "b.gif", "image/gif").status == 201);

  HttpReply first = httpGet(s.app("/meow"), {"Accept: image/*"});
  REQUIRE(first.status == 200);
  CHECK(first.header("Content-Type") == "image/gif");
  CHECK(first.body == gif);

  HttpReply second = httpGet(s.app("/meow"), {"Accept: image/*"});
  REQUIRE(second.status == 200);
  CHECK(second.header("Content-Type") == "image/png");
  CHECK(second.body == png);

  HttpReply empty = httpGet(s.app("/meow"), {"Accept: image/*"});
  REQUIRE(empty.status == 404);
  CHECK(empty.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(errorCode(empty.body) == "not_found");
  CHECK(imagesInRedis(s) == 0);
}

TEST_CASE("meow: without Accept image/* the answer is a page with a data URL", "[app][meow]") {
  TestStack s;
  std::string png = pngImage(1000, 77);
  REQUIRE(uploadImage(s, png, "a.png", "image/png").status == 201);
  HttpReply page = httpGet(s.app("/meow"));
  REQUIRE(page.status == 200);
  CHECK(page.header("Content-Type").rfind("text/html", 0) == 0);
  CHECK(page.body.find("data:image/png;base64," + base64(png)) != std::string::npos);
  // Taken off the stack even though it was shown as a page.
  CHECK(imagesInRedis(s) == 0);
}

TEST_CASE("meow: an empty stack is 404 not_found", "[app][meow]") {
  TestStack s;
  HttpReply r = httpGet(s.app("/meow"));
  REQUIRE(r.status == 404);
  CHECK(errorCode(r.body) == "not_found");
}

TEST_CASE("meow: two concurrent requests take two different images", "[app][meow]") {
  TestStack s;
  std::string a = pngImage(400, 1001);
  std::string b = pngImage(400, 2002);
  REQUIRE(uploadImage(s, a, "a.png", "image/png").status == 201);
  REQUIRE(uploadImage(s, b, "b.png", "image/png").status == 201);

  HttpReply r1;
  HttpReply r2;
  std::thread t1([&] { r1 = httpGet(s.app("/meow"), {"Accept: image/*"}); });
  std::thread t2([&] { r2 = httpGet(s.app("/meow"), {"Accept: image/*"}); });
  t1.join();
  t2.join();
  REQUIRE(r1.status == 200);
  REQUIRE(r2.status == 200);
  CHECK(r1.body != r2.body);
  CHECK(std::set<std::string>{r1.body, r2.body} == std::set<std::string>{a, b});
  CHECK(imagesInRedis(s) == 0);
}
