// json::Reader: typed reads with errors that name the JSON path.
#include <cmath>
#include <limits>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "oci/spec/json.h"

namespace peapod::json {
namespace {

// The JSON kind of a value, for "got …" in errors.
std::string Describe(const Value& v) {
  switch (v.type()) {
    case Type::kNull:
      return "null";
    case Type::kBool:
      return "boolean";
    case Type::kInt:
      return absl::StrCat("integer ", v.raw_int());
    case Type::kUint:
      return absl::StrCat("integer ", v.raw_uint());
    case Type::kDouble:
      return absl::StrCat("number ", v.raw_double());
    case Type::kString:
      return "string";
    case Type::kArray:
      return "array";
    case Type::kObject:
      return "object";
  }
  return "unknown";
}

// The value as a signed 128-bit integer when it is an integer (or a double
// with an integral value in range).
std::optional<__int128> AsInteger(const Value& v) {
  switch (v.type()) {
    case Type::kInt:
      return v.raw_int();
    case Type::kUint:
      return v.raw_uint();
    case Type::kDouble: {
      double d = v.raw_double();
      if (std::isfinite(d) && d == std::trunc(d) && std::fabs(d) < 1.8e19) {
        return static_cast<__int128>(d);
      }
      return std::nullopt;
    }
    default:
      return std::nullopt;
  }
}

}  // namespace

absl::Status Reader::Error(std::string_view message) const {
  return absl::InvalidArgumentError(
      absl::StrCat(path_, ": ", absl::string_view(message.data(), message.size())));
}

absl::Status Reader::ExpectObject() const {
  if (v_.is_object()) return absl::OkStatus();
  return Error(absl::StrCat("expected object, got ", Describe(v_)));
}

absl::Status Reader::ExpectArray() const {
  if (v_.is_array()) return absl::OkStatus();
  return Error(absl::StrCat("expected array, got ", Describe(v_)));
}

std::optional<Reader> Reader::Get(std::string_view key) const {
  const Value* child = v_.Find(key);
  if (child == nullptr || child->is_null()) return std::nullopt;
  return Reader(*child, absl::StrCat(path_, ".", absl::string_view(key.data(), key.size())));
}

absl::StatusOr<Reader> Reader::Require(std::string_view key) const {
  if (absl::Status s = ExpectObject(); !s.ok()) return s;
  std::optional<Reader> r = Get(key);
  if (!r) {
    return absl::InvalidArgumentError(absl::StrCat(
        path_, ".", absl::string_view(key.data(), key.size()), ": required member missing"));
  }
  return *r;
}

absl::StatusOr<std::vector<Reader>> Reader::Elements() const {
  if (absl::Status s = ExpectArray(); !s.ok()) return s;
  std::vector<Reader> out;
  const Array& a = v_.as_array();
  out.reserve(a.size());
  for (size_t i = 0; i < a.size(); ++i) {
    out.emplace_back(a[i], absl::StrCat(path_, "[", i, "]"));
  }
  return out;
}

absl::StatusOr<std::vector<std::pair<std::string, Reader>>> Reader::Members() const {
  if (absl::Status s = ExpectObject(); !s.ok()) return s;
  std::vector<std::pair<std::string, Reader>> out;
  for (const auto& [k, v] : v_.as_object()) {
    out.emplace_back(k, Reader(v, absl::StrCat(path_, ".", k)));
  }
  return out;
}

absl::StatusOr<std::string> Reader::String() const {
  if (v_.is_string()) return v_.as_string();
  return Error(absl::StrCat("expected string, got ", Describe(v_)));
}

absl::StatusOr<bool> Reader::Bool() const {
  if (v_.type() == Type::kBool) return v_.as_bool();
  return Error(absl::StrCat("expected boolean, got ", Describe(v_)));
}

namespace {

template <typename T>
absl::StatusOr<T> ReadInteger(const Reader& r, std::string_view what) {
  std::optional<__int128> i = AsInteger(r.value());
  if (!i || *i < std::numeric_limits<T>::min() || *i > std::numeric_limits<T>::max()) {
    return r.Error(absl::StrCat("expected ", absl::string_view(what.data(), what.size()), ", got ",
                                Describe(r.value())));
  }
  return static_cast<T>(*i);
}

}  // namespace

absl::StatusOr<int64_t> Reader::Int64() const {
  return ReadInteger<int64_t>(*this, "signed 64-bit integer");
}

absl::StatusOr<uint64_t> Reader::Uint64() const {
  return ReadInteger<uint64_t>(*this, "unsigned 64-bit integer");
}

absl::StatusOr<uint32_t> Reader::Uint32() const {
  return ReadInteger<uint32_t>(*this, "unsigned 32-bit integer");
}

absl::StatusOr<uint16_t> Reader::Uint16() const {
  return ReadInteger<uint16_t>(*this, "unsigned 16-bit integer");
}

absl::StatusOr<int32_t> Reader::Int32() const {
  return ReadInteger<int32_t>(*this, "signed 32-bit integer");
}

absl::StatusOr<double> Reader::Double() const {
  switch (v_.type()) {
    case Type::kInt:
      return static_cast<double>(v_.raw_int());
    case Type::kUint:
      return static_cast<double>(v_.raw_uint());
    case Type::kDouble:
      return v_.raw_double();
    default:
      return Error(absl::StrCat("expected number, got ", Describe(v_)));
  }
}

absl::StatusOr<std::vector<std::string>> Reader::StringArray() const {
  absl::StatusOr<std::vector<Reader>> elems = Elements();
  if (!elems.ok()) return elems.status();
  std::vector<std::string> out;
  out.reserve(elems->size());
  for (const Reader& e : *elems) {
    absl::StatusOr<std::string> s = e.String();
    if (!s.ok()) return s.status();
    out.push_back(*std::move(s));
  }
  return out;
}

absl::StatusOr<std::map<std::string, std::string>> Reader::StringMap() const {
  absl::StatusOr<std::vector<std::pair<std::string, Reader>>> members = Members();
  if (!members.ok()) return members.status();
  std::map<std::string, std::string> out;
  for (const auto& [k, r] : *members) {
    absl::StatusOr<std::string> s = r.String();
    if (!s.ok()) return s.status();
    out[k] = *std::move(s);
  }
  return out;
}

}  // namespace peapod::json
