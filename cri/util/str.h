// String helpers for cri/. Debian's abseil is built with its own
// absl::string_view (not std::string_view), so absl::StrCat does not take
// std::string_view; Cat does, and numbers too.
#pragma once

#include <concepts>
#include <string>
#include <string_view>

#include "absl/strings/string_view.h"

namespace peapod::cri {
namespace str_internal {

inline void Append(std::string& out, std::string_view s) { out.append(s); }
inline void Append(std::string& out, absl::string_view s) { out.append(s.data(), s.size()); }
inline void Append(std::string& out, const char* s) { out.append(s); }
inline void Append(std::string& out, const std::string& s) { out.append(s); }
inline void Append(std::string& out, char c) { out.push_back(c); }
template <std::integral T>
requires(!std::same_as<T, char> && !std::same_as<T, bool>) void Append(std::string& out, T n) {
  out.append(std::to_string(n));
}

// Without this a double would convert to char and append one byte of noise:
// format floating point explicitly (absl::StrFormat).
template <std::floating_point T>
void Append(std::string& out, T v) = delete;

}  // namespace str_internal

// Concatenates strings (std or absl views, C strings) and integers.
template <typename... Parts>
std::string Cat(const Parts&... parts) {
  std::string out;
  (str_internal::Append(out, parts), ...);
  return out;
}

// An absl::string_view as a std::string_view.
inline std::string_view StdView(absl::string_view s) { return {s.data(), s.size()}; }

}  // namespace peapod::cri
