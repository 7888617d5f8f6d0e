#pragma once
// ASCII case folding for protocol tokens (RESP command names, multipart
// header names): locale-free, and inline because a RESP front folds the
// name of every command it receives.

#include <cstddef>
#include <string_view>

namespace redge {

inline char asciiLower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Whether `a` and `b` are the same ASCII text but for letter case.
inline bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (asciiLower(a[i]) != asciiLower(b[i])) return false;
  }
  return true;
}

}  // namespace redge
