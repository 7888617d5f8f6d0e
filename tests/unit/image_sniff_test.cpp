// sniffImageType: each signature, its near misses, and inputs too short to hold one.

#include "services/app/image_sniff.hpp"

#include <catch2/catch.hpp>
#include <string>

using redge::sniffImageType;
using namespace std::string_view_literals;

TEST_CASE("image sniff: recognised signatures", "[image_sniff]") {
  CHECK(sniffImageType("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"sv) == "image/jpeg");
  CHECK(sniffImageType("\xFF\xD8\xFF"sv) == "image/jpeg");
  CHECK(sniffImageType("\x89PNG\r\n\x1A\n\x00\x00\x00\x0DIHDR"sv) == "image/png");
  CHECK(sniffImageType("\x89PNG\r\n\x1A\n"sv) == "image/png");
  CHECK(sniffImageType("GIF87a\x01\x00"sv) == "image/gif");
  CHECK(sniffImageType("GIF89a"sv) == "image/gif");
  CHECK(sniffImageType("RIFF\x24\x00\x00\x00WEBPVP8 "sv) == "image/webp");
  CHECK(sniffImageType("RIFF\xff\xff\xff\xffWEBP"sv) == "image/webp");
}

TEST_CASE("image sniff: near misses and other data", "[image_sniff]") {
  CHECK(sniffImageType(""sv).empty());
  CHECK(sniffImageType("\xFF\xD8"sv).empty());
  CHECK(sniffImageType("\xFF\xD9\xFF"sv).empty());
  CHECK(sniffImageType("\x89PNG\r\n\x1A"sv).empty());
  CHECK(sniffImageType("\x89PNG\n\r\x1A\n"sv).empty());
  CHECK(sniffImageType("GIF88a"sv).empty());
  CHECK(sniffImageType("GIF8"sv).empty());
  CHECK(sniffImageType("gif89a"sv).empty());
  CHECK(sniffImageType("RIFF\x24\x00\x00\x00WAVEfmt "sv).empty());  // audio in the same container
  CHECK(sniffImageType("RIFF\x24\x00\x00\x00WEB"sv).empty());
  CHECK(sniffImageType("WEBPRIFF\x00\x00\x00\x00"sv).empty());
  CHECK(sniffImageType("<svg xmlns=\"http://www.w3.org/2000/svg\"/>"sv).empty());
  CHECK(sniffImageType("<html><img src=x onerror=alert(1)>"sv).empty());
  CHECK(sniffImageType(" \xFF\xD8\xFF"sv).empty());  // the signature must be at offset 0
}

TEST_CASE("image sniff: result outlives the input", "[image_sniff]") {
  std::string_view type;
  {
    std::string bytes = "GIF89a trailing";
    type = sniffImageType(bytes);
  }
  CHECK(type == "image/gif");
}
