// JsonWriter (see the header): each string is checked for valid UTF-8 and
// handed to RapidJSON as it is when it passes, the common case; only text
// with an invalid sequence is copied, with U+FFFD in its place.

#include "core/json_writer.hpp"

#include "core/json_escape.hpp"

namespace redge {
namespace {

rapidjson::SizeType jsonLength(std::string_view text) {
  // Bodies are bounded far below 4 GiB (http.max_body_bytes, Redis values
  // this process wrote).
  return static_cast<rapidjson::SizeType>(text.size());
}

}  // namespace

JsonWriter& JsonWriter::startObject() {
  writer_.StartObject();
  return *this;
}

JsonWriter& JsonWriter::endObject() {
  writer_.EndObject();
  return *this;
}

JsonWriter& JsonWriter::startArray() {
  writer_.StartArray();
  return *this;
}

JsonWriter& JsonWriter::endArray() {
  writer_.EndArray();
  return *this;
}

JsonWriter& JsonWriter::key(std::string_view name) {
  if (isValidUtf8(name)) {
    writer_.Key(name.data(), jsonLength(name));
  } else {
    std::string fixed;
    appendValidUtf8(fixed, name);
    writer_.Key(fixed.data(), jsonLength(fixed));
  }
  return *this;
}

JsonWriter& JsonWriter::string(std::string_view text) {
  if (isValidUtf8(text)) {
    writer_.String(text.data(), jsonLength(text));
  } else {
    std::string fixed;
    appendValidUtf8(fixed, text);
    writer_.String(fixed.data(), jsonLength(fixed));
  }
  return *this;
}

JsonWriter& JsonWriter::integer(int64_t value) {
  writer_.Int64(value);
  return *this;
}

JsonWriter& JsonWriter::boolean(bool value) {
  writer_.Bool(value);
  return *this;
}

JsonWriter& JsonWriter::null() {
  writer_.Null();
  return *this;
}

JsonWriter& JsonWriter::rawValue(std::string_view json) {
  writer_.RawValue(json.data(), json.size(), rapidjson::kObjectType);
  return *this;
}

}  // namespace redge
