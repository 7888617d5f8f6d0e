#pragma once
// JsonWriter: RapidJSON's Writer appending to a std::string, for JSON answers
// off the hot paths (the hot paths use appendJsonString directly).
//
// Why a wrapper: RapidJSON's Writer copies a string's bytes as they are. By
// default invalid UTF-8 goes out unchanged, a body strict parsers refuse;
// with kWriteValidateEncodingFlag it writes the bad byte, then stops in the
// middle of the string (tests/unit/json_writer_test.cpp shows both). Keys
// and strings here come from the network and from Redis, so every one
// passes through key() or string(), which replace invalid sequences with
// U+FFFD as appendJsonString does.
//
// Calls chain: w.key("ready").integer(n). The caller keeps the nesting
// right; complete() says whether the top-level value is closed.

#include <rapidjson/writer.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace redge {

class JsonWriter {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit JsonWriter(std::string& out) : sink_{&out}, writer_(sink_) {}
  JsonWriter(const JsonWriter&) = delete;
  JsonWriter& operator=(const JsonWriter&) = delete;

  JsonWriter& startObject();
  JsonWriter& endObject();
  JsonWriter& startArray();
  JsonWriter& endArray();
  JsonWriter& key(std::string_view name);
  JsonWriter& string(std::string_view text);
  JsonWriter& integer(int64_t value);
  JsonWriter& boolean(bool value);
  JsonWriter& null();
  // A complete JSON value written earlier by a JsonWriter (kept while other
  // parts were awaited), copied as it is.
  JsonWriter& rawValue(std::string_view json);

  bool complete() const { return writer_.IsComplete(); }

 private:
  // The output stream RapidJSON's Writer wants: Put() and Flush().
  struct Sink {
    using Ch = char;
    std::string* out;
    void Put(char c) { out->push_back(c); }
    void Flush() {}
  };

  Sink sink_;
  rapidjson::Writer<Sink> writer_;
};

}  // namespace redge
