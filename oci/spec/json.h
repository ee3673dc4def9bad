// A small JSON document model on top of yajl: parse to a tree, walk it with
// path-aware accessors, build a tree and write it out with yajl_gen.
//
// This is the project's one JSON library: config.json, state files, CRI
// annotations (host aliases, lifecycle hooks), registry manifests, CNI
// results and shim state all go through it, so a change of JSON library is a
// change in this folder only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::json {

class Value;
using Array = std::vector<Value>;
// Object members keep document order (JSON allows duplicates; the parser
// rejects them, since a duplicate key in a config is almost always a mistake).
using Object = std::vector<std::pair<std::string, Value>>;

enum class Type { kNull, kBool, kInt, kUint, kDouble, kString, kArray, kObject };

// A JSON value. Integers are kept exact: negative ones as int64, the rest
// as uint64 (so 2^64-1 survives a round trip); other numbers as double.
class Value {
 public:
  Value() = default;  // null
  Value(std::nullptr_t) {}
  Value(bool b) : v_(b) {}
  Value(int i) : v_(static_cast<int64_t>(i)) {}
  Value(int64_t i) : v_(i) {}
  Value(uint32_t u) : v_(static_cast<uint64_t>(u)) {}
  Value(uint64_t u) : v_(u) {}
  Value(double d) : v_(d) {}
  Value(const char* s) : v_(std::string(s)) {}
  Value(std::string s) : v_(std::move(s)) {}
  Value(std::string_view s) : v_(std::string(s)) {}
  Value(Array a) : v_(std::move(a)) {}
  Value(Object o) : v_(std::move(o)) {}
  // Out of line: inlined std::variant moves trip GCC 12's
  // -Wmaybe-uninitialized false positive in every caller.
  Value(const Value&);
  Value(Value&&) noexcept;
  Value& operator=(const Value&);
  Value& operator=(Value&&) noexcept;
  ~Value();

  Type type() const;
  bool is_null() const { return type() == Type::kNull; }
  bool is_object() const { return type() == Type::kObject; }
  bool is_array() const { return type() == Type::kArray; }
  bool is_string() const { return type() == Type::kString; }

  // Unchecked accessors: call only after checking type().
  bool as_bool() const { return std::get<bool>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const Array& as_array() const { return std::get<Array>(v_); }
  Array& as_array() { return std::get<Array>(v_); }
  const Object& as_object() const { return std::get<Object>(v_); }
  Object& as_object() { return std::get<Object>(v_); }
  int64_t raw_int() const { return std::get<int64_t>(v_); }
  uint64_t raw_uint() const { return std::get<uint64_t>(v_); }
  double raw_double() const { return std::get<double>(v_); }

  // Object lookup; nullptr if not an object or no such member.
  const Value* Find(std::string_view key) const;
  // Appends (or replaces) a member; the value must be an object.
  void Set(std::string key, Value value);
  // Appends to an array value.
  void Push(Value value);

 private:
  std::variant<std::nullptr_t, bool, int64_t, uint64_t, double, std::string, Array, Object> v_ =
      nullptr;
};

// Deep equality; integers compare by value whatever their signedness.
bool operator==(const Value& a, const Value& b);

// Parses a complete JSON document. Errors say where (line/column or byte
// offset) and what yajl reported; duplicate object keys are an error.
// Bytes of a string or key that are not valid UTF-8 read as U+FFFD, as Go's
// decoder (runc, containerd) reads them, and as Write writes them.
absl::StatusOr<Value> Parse(std::string_view text);
// Reads a file (at most max_bytes, an error if larger) and parses it.
absl::StatusOr<Value> ParseFile(const std::string& path, size_t max_bytes = 64 << 20);
// Writes a value as JSON text. Strings are escaped per RFC 8259, invalid
// UTF-8 written as U+FFFD.
std::string Write(const Value& value, bool pretty = false);

// Path-aware typed reads. `path` is the JSON path of `v` ("$.process"); the
// errors are InvalidArgument and name the member: "$.process.user.uid:
// expected unsigned 32-bit integer, got string".
class Reader {
 public:
  Reader(const Value& v, std::string path) : v_(v), path_(std::move(path)) {}
  const Value& value() const { return v_; }
  const std::string& path() const { return path_; }

  // Error unless the value is an object / array.
  absl::Status ExpectObject() const;
  absl::Status ExpectArray() const;

  // Member access: the child's reader (with path "$.a.b"), nullopt if absent.
  // A member present with value null counts as absent.
  std::optional<Reader> Get(std::string_view key) const;
  // Like Get, but a missing member is an error "…: required member missing".
  absl::StatusOr<Reader> Require(std::string_view key) const;
  // Array elements (path "$.a[3]"); error unless an array.
  absl::StatusOr<std::vector<Reader>> Elements() const;
  // Object members in order (path "$.a.key"); error unless an object.
  absl::StatusOr<std::vector<std::pair<std::string, Reader>>> Members() const;

  absl::StatusOr<std::string> String() const;
  absl::StatusOr<bool> Bool() const;
  absl::StatusOr<int64_t> Int64() const;
  absl::StatusOr<uint64_t> Uint64() const;
  absl::StatusOr<uint32_t> Uint32() const;
  absl::StatusOr<int32_t> Int32() const;
  absl::StatusOr<uint16_t> Uint16() const;
  absl::StatusOr<double> Double() const;
  absl::StatusOr<std::vector<std::string>> StringArray() const;
  absl::StatusOr<std::map<std::string, std::string>> StringMap() const;

  // An InvalidArgument error prefixed with this reader's path.
  absl::Status Error(std::string_view message) const;

 private:
  const Value& v_;
  std::string path_;
};

}  // namespace peapod::json
