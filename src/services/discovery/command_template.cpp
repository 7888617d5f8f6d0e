// Placeholder substitution in argv templates (see the header).

#include "services/discovery/command_template.hpp"

#include <algorithm>

namespace redge {
namespace {

constexpr std::string_view kPlaceholders[] = {"service", "id", "port", "redis", "address"};

const std::string* placeholderValue(std::string_view name, const CommandValues& v) {
  if (name == "service") return &v.service;
  if (name == "id") return &v.id;
  if (name == "port") return &v.port;
  if (name == "redis") return &v.redis;
  if (name == "address") return &v.address;
  return nullptr;
}

}  // namespace

std::optional<std::string> checkCommandArgument(const std::string& element) {
  size_t at = 0;
  while ((at = element.find('{', at)) != std::string::npos) {
    size_t end = element.find('}', at);
    if (end == std::string::npos) return std::nullopt;  // a lone brace is literal text
    std::string_view name(element.data() + at + 1, end - at - 1);
    bool known = false;
    for (auto p : kPlaceholders) known = known || p == name;
    // {…} that looks like a name but is not one is a typo; anything else
    // (JSON in an argument, say) is literal.
    bool looks_like_name = !name.empty() && name.size() <= 16 &&
                           name.find_first_not_of(
                               "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ_") == std::string_view::npos;
    if (looks_like_name && !known) {
      return "unknown placeholder {" + std::string(name) +
             "} (known: {service} {id} {port} {redis} {address})";
    }
    at = end + 1;
  }
  return std::nullopt;
}

bool usesPlaceholder(const std::vector<std::string>& argv, std::string_view name) {
  std::string token = "{" + std::string(name) + "}";
  for (const auto& a : argv) {
    if (a.find(token) != std::string::npos) return true;
  }
  return false;
}

std::vector<std::string> expandCommand(const std::vector<std::string>& argv,
                                       const CommandValues& values) {
  std::vector<std::string> out;
  out.reserve(argv.size());
  for (const auto& element : argv) {
    std::string s;
    size_t at = 0;
    while (at < element.size()) {
      size_t open = element.find('{', at);
      if (open == std::string::npos) break;
      size_t close = element.find('}', open);
      if (close == std::string::npos) break;
      const std::string* value =
          placeholderValue(std::string_view(element).substr(open + 1, close - open - 1), values);
      if (value == nullptr) {  // literal: keep the brace, look again after it
        s.append(element, at, open + 1 - at);
        at = open + 1;
        continue;
      }
      s.append(element, at, open - at).append(*value);
      at = close + 1;
    }
    s.append(element, std::min(at, element.size()), std::string::npos);
    out.push_back(std::move(s));
  }
  return out;
}

}  // namespace redge
