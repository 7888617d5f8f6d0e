// Image fixtures for upload tests: real signatures, synthetic content.

#include "support/image_fixtures.hpp"

namespace redge_test {
namespace {

std::string withFiller(std::string magic, size_t size, unsigned seed) {
  // A small linear congruential sequence: reproducible, includes NUL and high bytes.
  unsigned state = seed * 2654435761u + 12345u;
  while (magic.size() < size) {
    state = state * 1103515245u + 12345u;
    magic.push_back(static_cast<char>((state >> 16) & 0xff));
  }
  return magic;
}

}  // namespace

std::string pngImage(size_t size, unsigned seed) {
  return withFiller(std::string("\x89PNG\r\n\x1a\n\0\0\0\rIHDR", 16), size, seed);
}

std::string jpegImage(size_t size, unsigned seed) {
  return withFiller(std::string("\xff\xd8\xff\xe0\0\x10JFIF\0", 11), size, seed);
}

std::string gifImage(size_t size, unsigned seed) {
  return withFiller("GIF89a", size, seed);
}

std::string webpImage(size_t size, unsigned seed) {
  std::string head("RIFF\0\0\0\0WEBPVP8 ", 16);
  uint32_t riff_size = static_cast<uint32_t>(size > 8 ? size - 8 : 0);
  for (int i = 0; i < 4; ++i) head[4 + i] = static_cast<char>((riff_size >> (8 * i)) & 0xff);
  return withFiller(head, size, seed);
}

std::string base64(const std::string& bytes) {
  static const char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                 static_cast<unsigned char>(bytes[i + 2]);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back(kAlphabet[n & 63]);
  }
  size_t rest = bytes.size() - i;
  if (rest == 1) {
    uint32_t n = static_cast<unsigned char>(bytes[i]) << 16;
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.append("==");
  } else if (rest == 2) {
    uint32_t n = (static_cast<unsigned char>(bytes[i]) << 16) |
                 (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out.push_back(kAlphabet[(n >> 18) & 63]);
    out.push_back(kAlphabet[(n >> 12) & 63]);
    out.push_back(kAlphabet[(n >> 6) & 63]);
    out.push_back('=');
  }
  return out;
}

}  // namespace redge_test
