// Magic-byte sniffing for uploaded images: JPEG, PNG, GIF and WebP, the four
// formats every browser renders. Signatures follow each format's spec (and the
// WHATWG MIME Sniffing table): a client-supplied Content-Type is never trusted,
// since serving HTML labelled as an image is how stored XSS starts.

#include "services/app/image_sniff.hpp"

namespace redge {
namespace {

bool startsWith(std::string_view bytes, std::string_view magic) {
  return bytes.size() >= magic.size() && bytes.substr(0, magic.size()) == magic;
}

}  // namespace

std::string_view sniffImageType(std::string_view bytes) {
  using namespace std::string_view_literals;
  // SOI marker followed by the first marker's 0xFF.
  if (startsWith(bytes, "\xFF\xD8\xFF"sv)) return "image/jpeg";
  if (startsWith(bytes, "\x89PNG\r\n\x1A\n"sv)) return "image/png";
  if (startsWith(bytes, "GIF87a"sv) || startsWith(bytes, "GIF89a"sv)) return "image/gif";
  // RIFF container: 4-byte little-endian size, then the form type.
  if (bytes.size() >= 12 && startsWith(bytes, "RIFF"sv) && bytes.substr(8, 4) == "WEBP"sv) {
    return "image/webp";
  }
  return {};
}

}  // namespace redge
