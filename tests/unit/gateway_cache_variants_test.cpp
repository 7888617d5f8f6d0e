// The gateway cache's Vary variant records (cache/variants.hpp): their
// encoding round trip and refusal of damaged values, the keys, and the
// bound on variants kept per URI.

#include <catch2/catch.hpp>
#include <string>
#include <vector>

#include "services/gateway/cache/variants.hpp"

namespace redge {

TEST_CASE("cache variants: a record survives its encoding", "[gateway_cache]") {
  VariantRecord r;
  r.generation = 0x0102030405060708ULL;
  r.field_names = {"accept-encoding", "accept-language"};
  r.secondary_keys = {"accept-encoding:gzip\naccept-language!\n", std::string("a\0b", 3), ""};
  VariantRecord back;
  REQUIRE(decodeVariantRecord(encodeVariantRecord(r), back));
  CHECK(back.generation == r.generation);
  CHECK(back.field_names == r.field_names);
  CHECK(back.secondary_keys == r.secondary_keys);

  VariantRecord empty;
  REQUIRE(decodeVariantRecord(encodeVariantRecord(empty), back));
  CHECK(back.field_names.empty());
  CHECK(back.secondary_keys.empty());
}

TEST_CASE("cache variants: anything but a whole record is not one", "[gateway_cache]") {
  VariantRecord r;
  r.generation = 7;
  r.field_names = {"accept-encoding"};
  r.secondary_keys = {"accept-encoding:gzip\n", "accept-encoding:br\n"};
  const std::string whole = encodeVariantRecord(r);
  VariantRecord out;
  // Every truncation, and a byte too many.
  for (size_t n = 0; n < whole.size(); ++n) {
    INFO(n);
    CHECK_FALSE(decodeVariantRecord(std::string_view(whole).substr(0, n), out));
  }
  CHECK_FALSE(decodeVariantRecord(whole + "x", out));
  // A stored answer (another magic) or random bytes.
  CHECK_FALSE(decodeVariantRecord("RGC1xxxxxxxxxxxxxxxxxxxxxxxxxxx", out));
  std::string huge_count = whole.substr(0, 12) + std::string("\xff\xff\xff\x7f", 4);
  CHECK_FALSE(decodeVariantRecord(huge_count, out));
}

TEST_CASE("cache variants: keys hold the URI, the generation and the selection",
          "[gateway_cache]") {
  const std::string k = variantKey("http://h/a?b=1", 42, "accept-encoding:gzip\n");
  CHECK(k == "http://h/a?b=1\n42\naccept-encoding:gzip\n");
  CHECK(uriOfKey(k) == "http://h/a?b=1");
  CHECK(uriOfKey("http://h/a?b=1") == "http://h/a?b=1");
  // Another generation is another key: variants of a gone record are never found.
  CHECK(variantKey("http://h/a", 1, "x") != variantKey("http://h/a", 2, "x"));
}

TEST_CASE("cache variants: at most max_variants, oldest dropped first", "[gateway_cache]") {
  VariantRecord r;
  CHECK(addVariant(r, "a", 3).empty());
  CHECK(addVariant(r, "b", 3).empty());
  CHECK(addVariant(r, "c", 3).empty());
  CHECK(r.secondary_keys == std::vector<std::string>{"a", "b", "c"});
  // Storing "a" again makes it the newest, so "b" goes next.
  CHECK(addVariant(r, "a", 3).empty());
  CHECK(r.secondary_keys == std::vector<std::string>{"b", "c", "a"});
  CHECK(addVariant(r, "d", 3) == std::vector<std::string>{"b"});
  CHECK(r.secondary_keys == std::vector<std::string>{"c", "a", "d"});
  // A smaller bound drops several at once; 0 still keeps the newest.
  CHECK(addVariant(r, "e", 1) == std::vector<std::string>{"c", "a", "d"});
  CHECK(addVariant(r, "f", 0) == std::vector<std::string>{"e"});
  CHECK(r.secondary_keys == std::vector<std::string>{"f"});
}

}  // namespace redge
