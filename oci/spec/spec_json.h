// Internal helpers shared by spec_parse.cc and spec_write.cc (not part of
// the public API): member readers that fill struct fields and member
// writers that skip absent optionals.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/status/status.h"
#include "oci/spec/json.h"
#include "oci/spec/spec.h"

#define PEAPOD_SPEC_RETURN_IF_ERROR(expr)                 \
  do {                                                    \
    if (absl::Status _st = (expr); !_st.ok()) return _st; \
  } while (0)

namespace peapod::oci::internal {

using json::Reader;

// Reads a scalar, string list or string map of type T from r.
template <typename T>
absl::Status ReadAs(const Reader& r, T* out) {
  auto assign = [out](auto v) -> absl::Status {
    if (!v.ok()) return v.status();
    *out = static_cast<T>(*std::move(v));
    return absl::OkStatus();
  };
  if constexpr (std::is_same_v<T, std::string>) {
    return assign(r.String());
  } else if constexpr (std::is_same_v<T, bool>) {
    return assign(r.Bool());
  } else if constexpr (std::is_same_v<T, uint16_t>) {
    return assign(r.Uint16());
  } else if constexpr (std::is_same_v<T, uint32_t>) {
    return assign(r.Uint32());
  } else if constexpr (std::is_same_v<T, int>) {
    return assign(r.Int32());
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return assign(r.Int64());
  } else if constexpr (std::is_same_v<T, uint64_t>) {
    return assign(r.Uint64());
  } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
    return assign(r.StringArray());
  } else if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
    return assign(r.StringMap());
  } else {
    static_assert(sizeof(T) == 0, "unsupported member type");
  }
}

// Member `key` of obj into *out when present (null counts as absent).
template <typename T>
absl::Status Opt(const Reader& obj, std::string_view key, T* out) {
  std::optional<Reader> c = obj.Get(key);
  if (!c) return absl::OkStatus();
  return ReadAs(*c, out);
}

// Member `key` of obj into an optional, left empty when absent.
template <typename T>
absl::Status Opt(const Reader& obj, std::string_view key, std::optional<T>* out) {
  std::optional<Reader> c = obj.Get(key);
  if (!c) return absl::OkStatus();
  T v{};
  PEAPOD_SPEC_RETURN_IF_ERROR(ReadAs(*c, &v));
  *out = std::move(v);
  return absl::OkStatus();
}

// Member `key` of obj into *out; an error when absent.
template <typename T>
absl::Status Req(const Reader& obj, std::string_view key, T* out) {
  absl::StatusOr<Reader> c = obj.Require(key);
  if (!c.ok()) return c.status();
  return ReadAs(*c, out);
}

// Array member `key`, each element parsed by parse(const Reader&, T*).
template <typename T, typename F>
absl::Status List(const Reader& obj, std::string_view key, std::vector<T>* out, F parse) {
  std::optional<Reader> c = obj.Get(key);
  if (!c) return absl::OkStatus();
  absl::StatusOr<std::vector<Reader>> elems = c->Elements();
  if (!elems.ok()) return elems.status();
  out->clear();
  for (const Reader& e : *elems) {
    T item{};
    PEAPOD_SPEC_RETURN_IF_ERROR(parse(e, &item));
    out->push_back(std::move(item));
  }
  return absl::OkStatus();
}

// Object member `key` parsed by parse(const Reader&, T*) into an optional.
template <typename T, typename F>
absl::Status OptObject(const Reader& obj, std::string_view key, std::optional<T>* out, F parse) {
  std::optional<Reader> c = obj.Get(key);
  if (!c) return absl::OkStatus();
  T v{};
  PEAPOD_SPEC_RETURN_IF_ERROR(parse(*c, &v));
  *out = std::move(v);
  return absl::OkStatus();
}

// Parses linux.resources (or a `pea update -r` document); in
// spec_parse_resources.cc.
absl::Status ParseResourcesObject(const Reader& r, Resources* res);
// Serializes resources; in spec_write.cc.
json::Value ResourcesValue(const Resources& res);

// Writers: Put always writes; PutOpt skips absent optionals and empty
// strings/containers (the spec gives absent and empty the same meaning).
inline void Put(json::Value& obj, std::string key, json::Value v) {
  obj.as_object().emplace_back(std::move(key), std::move(v));
}

inline json::Value StringList(const std::vector<std::string>& v) {
  json::Array a;
  a.reserve(v.size());
  for (const std::string& s : v) a.emplace_back(s);
  return a;
}

inline json::Value StringMapValue(const std::map<std::string, std::string>& m) {
  json::Object o;
  for (const auto& [k, v] : m) o.emplace_back(k, json::Value(v));
  return o;
}

inline void PutOpt(json::Value& obj, std::string key, const std::string& v) {
  if (!v.empty()) Put(obj, std::move(key), v);
}
inline void PutOpt(json::Value& obj, std::string key, const std::vector<std::string>& v) {
  if (!v.empty()) Put(obj, std::move(key), StringList(v));
}
inline void PutOpt(json::Value& obj, std::string key, const std::map<std::string, std::string>& v) {
  if (!v.empty()) Put(obj, std::move(key), StringMapValue(v));
}
inline void PutOpt(json::Value& obj, std::string key, bool v) {
  if (v) Put(obj, std::move(key), true);
}
template <typename T>
void PutOpt(json::Value& obj, std::string key, const std::optional<T>& v) {
  if (v) Put(obj, std::move(key), json::Value(*v));
}

}  // namespace peapod::oci::internal
