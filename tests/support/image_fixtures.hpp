#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace redge_test {

// Small files with the magic bytes of each image format redge accepts,
// followed by `size` bytes in total of deterministic filler (distinct per
// `seed`, so two uploads can be told apart after a round trip).
std::string pngImage(size_t size = 256, unsigned seed = 1);
std::string jpegImage(size_t size = 256, unsigned seed = 2);
std::string gifImage(size_t size = 256, unsigned seed = 3);
std::string webpImage(size_t size = 256, unsigned seed = 4);

// Standard base64 (RFC 4648, with padding), written independently of redge's
// encoder so the test checks it rather than repeats it.
std::string base64(const std::string& bytes);

}  // namespace redge_test
