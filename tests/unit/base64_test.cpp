// appendBase64: the RFC 4648 section 10 test vectors, binary bytes (the whole
// alphabet, NULs, 0xFF), appending, and a decode round trip over every length
// up to a few blocks.

#include "core/base64.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <string>
#include <string_view>

namespace redge {
namespace {

std::string encode(std::string_view bytes) {
  std::string out;
  appendBase64(out, bytes);
  return out;
}

// A plain decoder for the round trip; returns false on anything not canonical.
bool decode(std::string_view text, std::string& out) {
  constexpr std::string_view kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  out.clear();
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t v = 0;
    int pad = 0;
    for (size_t k = 0; k < 4; ++k) {
      const char c = text[i + k];
      v <<= 6;
      if (c == '=') {
        if (i + 4 != text.size() || k < 2) return false;
        ++pad;
        continue;
      }
      if (pad > 0) return false;
      const size_t pos = kAlphabet.find(c);
      if (pos == std::string_view::npos) return false;
      v |= static_cast<uint32_t>(pos);
    }
    out.push_back(static_cast<char>((v >> 16) & 0xFF));
    if (pad < 2) out.push_back(static_cast<char>((v >> 8) & 0xFF));
    if (pad < 1) out.push_back(static_cast<char>(v & 0xFF));
  }
  return true;
}

}  // namespace

TEST_CASE("base64: RFC 4648 test vectors", "[base64]") {
  CHECK(encode("") == "");
  CHECK(encode("f") == "Zg==");
  CHECK(encode("fo") == "Zm8=");
  CHECK(encode("foo") == "Zm9v");
  CHECK(encode("foob") == "Zm9vYg==");
  CHECK(encode("fooba") == "Zm9vYmE=");
  CHECK(encode("foobar") == "Zm9vYmFy");
}

TEST_CASE("base64: binary bytes", "[base64]") {
  CHECK(encode(std::string_view("\0", 1)) == "AA==");
  CHECK(encode(std::string_view("\0\0", 2)) == "AAA=");
  CHECK(encode(std::string_view("\0\0\0", 3)) == "AAAA");
  CHECK(encode("\xff") == "/w==");
  CHECK(encode("\xff\xff") == "//8=");
  CHECK(encode("\xff\xff\xff") == "////");
  CHECK(encode("\xfb\xff") == "+/8=");
  CHECK(encode("\x89PNG\r\n\x1a\n") == "iVBORw0KGgo=");  // the PNG signature
  CHECK(encode("\xff\xd8\xff") == "/9j/");               // the JPEG start
  CHECK(encode(std::string_view("\x00\x10\x83\x10\x51\x87\x20\x92\x8b", 9)) == "ABCDEFGHIJKL");
}

TEST_CASE("base64: every alphabet symbol in order", "[base64]") {
  // 48 bytes whose 6-bit groups count 0..63.
  std::string bytes;
  for (uint32_t i = 0; i < 64; i += 4) {
    const uint32_t v = (i << 18) | ((i + 1) << 12) | ((i + 2) << 6) | (i + 3);
    bytes.push_back(static_cast<char>(v >> 16));
    bytes.push_back(static_cast<char>((v >> 8) & 0xFF));
    bytes.push_back(static_cast<char>(v & 0xFF));
  }
  CHECK(encode(bytes) == "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/");
}

TEST_CASE("base64: appends to what is already there", "[base64]") {
  std::string out = "data:image/png;base64,";
  appendBase64(out, "foo");
  appendBase64(out, "f");
  CHECK(out == "data:image/png;base64,Zm9vZg==");
}

TEST_CASE("base64: round trip over every length and byte", "[base64]") {
  std::string bytes;
  for (size_t len = 0; len <= 300; ++len) {
    const std::string text = encode(bytes);
    INFO("length " << len);
    CHECK(text.size() == (len + 2) / 3 * 4);
    std::string back;
    REQUIRE(decode(text, back));
    CHECK(back == bytes);
    // The next length adds a byte that walks through all 256 values.
    bytes.push_back(static_cast<char>((len * 97 + 13) & 0xFF));
  }
}

}  // namespace redge
