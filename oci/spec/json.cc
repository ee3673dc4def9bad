// yajl-backed implementation of json.h: a callback parser that keeps
// integers exact and rejects duplicate keys, a yajl_gen writer, and the
// path-aware Reader.
#include "oci/spec/json.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>
#include <yajl/yajl_parse.h>

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_set>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace peapod::json {

Value::Value(const Value&) = default;
Value::Value(Value&&) noexcept = default;
Value& Value::operator=(const Value&) = default;
Value& Value::operator=(Value&&) noexcept = default;
Value::~Value() = default;

Type Value::type() const { return static_cast<Type>(v_.index()); }

const Value* Value::Find(std::string_view key) const {
  if (!is_object()) return nullptr;
  for (const auto& [k, v] : as_object()) {
    if (k == key) return &v;
  }
  return nullptr;
}

void Value::Set(std::string key, Value value) {
  Object& obj = as_object();
  for (auto& [k, v] : obj) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  obj.emplace_back(std::move(key), std::move(value));
}

void Value::Push(Value value) { as_array().push_back(std::move(value)); }

bool operator==(const Value& a, const Value& b) {
  Type ta = a.type(), tb = b.type();
  if (ta == Type::kInt && tb == Type::kUint) {
    return a.raw_int() >= 0 && static_cast<uint64_t>(a.raw_int()) == b.raw_uint();
  }
  if (ta == Type::kUint && tb == Type::kInt) return b == a;
  if (ta != tb) return false;
  switch (ta) {
    case Type::kNull:
      return true;
    case Type::kBool:
      return a.as_bool() == b.as_bool();
    case Type::kInt:
      return a.raw_int() == b.raw_int();
    case Type::kUint:
      return a.raw_uint() == b.raw_uint();
    case Type::kDouble:
      return a.raw_double() == b.raw_double();
    case Type::kString:
      return a.as_string() == b.as_string();
    case Type::kArray:
      return a.as_array() == b.as_array();
    case Type::kObject:
      return a.as_object() == b.as_object();
  }
  return false;
}

namespace {

constexpr size_t kMaxDepth = 512;

// Builds a Value tree from yajl callbacks. Containers under construction are
// reached through pointers on a stack; a container's storage only grows while
// it is the innermost open one, so the pointers stay valid.
// Length of the valid UTF-8 sequence at s[i], 0 if invalid (overlong
// forms, surrogates and code points above U+10FFFF are invalid).
size_t Utf8SequenceLength(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  unsigned char c = b(0);
  if (c < 0x80) return 1;
  if (c >= 0xC2 && c <= 0xDF) return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2)) return 0;
    if (c == 0xE0 && b(1) < 0xA0) return 0;   // overlong
    if (c == 0xED && b(1) >= 0xA0) return 0;  // surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3)) return 0;
    if (c == 0xF0 && b(1) < 0x90) return 0;   // overlong
    if (c == 0xF4 && b(1) >= 0x90) return 0;  // above U+10FFFF
    return 4;
  }
  return 0;
}

// `s` with every byte that is not part of valid UTF-8 replaced by U+FFFD,
// as Go's encoding/json does when it reads and when it writes (runc and
// containerd see such strings so); nullopt when `s` is valid as it is.
std::optional<std::string> FixUtf8(std::string_view s) {
  std::optional<std::string> fixed;
  for (size_t i = 0; i < s.size();) {
    size_t n = Utf8SequenceLength(s, i);
    if (n == 0 && !fixed) fixed.emplace(s.substr(0, i));
    if (n == 0) {
      *fixed += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (fixed) fixed->append(s.substr(i, n));
    i += n;
  }
  return fixed;
}

struct Builder {
  Value root;
  bool have_root = false;
  struct Frame {
    Value* container;
    std::string key;  // pending key when the container is an object
    std::unordered_set<std::string> seen;
  };
  std::vector<Frame> stack;
  std::string error;

  Value* Add(Value v) {
    if (stack.empty()) {
      root = std::move(v);
      have_root = true;
      return &root;
    }
    Frame& f = stack.back();
    if (f.container->is_array()) {
      f.container->as_array().push_back(std::move(v));
      return &f.container->as_array().back();
    }
    f.container->as_object().emplace_back(std::move(f.key), std::move(v));
    return &f.container->as_object().back().second;
  }
  int Open(Value v) {
    if (stack.size() >= kMaxDepth) {
      error = absl::StrCat("nesting deeper than ", kMaxDepth, " levels");
      return 0;
    }
    Value* c = Add(std::move(v));
    stack.push_back(Frame{c, {}, {}});
    return 1;
  }
};

Builder* B(void* ctx) { return static_cast<Builder*>(ctx); }

int OnNull(void* ctx) { return B(ctx)->Add(Value()), 1; }
int OnBool(void* ctx, int b) { return B(ctx)->Add(Value(b != 0)), 1; }

int OnNumber(void* ctx, const char* s, size_t len) {
  std::string_view text(s, len);
  const char* end = s + len;
  if (text.find_first_of(".eE") == std::string_view::npos) {
    if (text[0] == '-') {
      int64_t i = 0;
      auto r = std::from_chars(s, end, i);
      if (r.ec == std::errc() && r.ptr == end) {
        if (i == 0) return B(ctx)->Add(Value(uint64_t{0})), 1;  // "-0"
        return B(ctx)->Add(Value(i)), 1;
      }
    } else {
      uint64_t u = 0;
      auto r = std::from_chars(s, end, u);
      if (r.ec == std::errc() && r.ptr == end) return B(ctx)->Add(Value(u)), 1;
    }
  }
  // Non-integers and integers beyond 64 bits become doubles.
  std::string copy(text);
  errno = 0;
  double d = std::strtod(copy.c_str(), nullptr);
  if (errno == ERANGE && std::isinf(d)) {
    B(ctx)->error = absl::StrCat("number out of range: ", std::string(text));
    return 0;
  }
  return B(ctx)->Add(Value(d)), 1;
}

int OnString(void* ctx, const unsigned char* s, size_t len) {
  std::string_view text(reinterpret_cast<const char*>(s), len);
  std::optional<std::string> fixed = FixUtf8(text);
  B(ctx)->Add(Value(fixed ? *std::move(fixed) : std::string(text)));
  return 1;
}

int OnStartMap(void* ctx) { return B(ctx)->Open(Value(Object{})); }

int OnMapKey(void* ctx, const unsigned char* s, size_t len) {
  Builder::Frame& f = B(ctx)->stack.back();
  std::string_view text(reinterpret_cast<const char*>(s), len);
  std::optional<std::string> fixed = FixUtf8(text);
  f.key = fixed ? *std::move(fixed) : std::string(text);
  if (!f.seen.insert(f.key).second) {
    B(ctx)->error = absl::StrCat("duplicate key \"", f.key, "\"");
    return 0;
  }
  return 1;
}

int OnEnd(void* ctx) {
  B(ctx)->stack.pop_back();
  return 1;
}

int OnStartArray(void* ctx) { return B(ctx)->Open(Value(Array{})); }

constexpr yajl_callbacks kCallbacks = {
    OnNull,     OnBool,   nullptr, nullptr,      OnNumber, OnString,
    OnStartMap, OnMapKey, OnEnd,   OnStartArray, OnEnd,
};

// "line L, column C" of a byte offset.
std::string Where(std::string_view text, size_t offset) {
  offset = std::min(offset, text.size());
  size_t line = 1, col = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return absl::StrCat("line ", line, ", column ", col);
}

std::string YajlMessage(yajl_handle h, std::string_view text) {
  unsigned char* msg =
      yajl_get_error(h, 0, reinterpret_cast<const unsigned char*>(text.data()), text.size());
  std::string out = msg ? reinterpret_cast<char*>(msg) : "parse error";
  if (msg) yajl_free_error(h, msg);
  while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
  return out;
}

}  // namespace

absl::StatusOr<Value> Parse(std::string_view text) {
  Builder builder;
  yajl_handle h = yajl_alloc(&kCallbacks, nullptr, &builder);
  if (h == nullptr) return absl::ResourceExhaustedError("json: yajl_alloc failed");
  const auto* data = reinterpret_cast<const unsigned char*>(text.data());
  yajl_status st = yajl_parse(h, data, text.size());
  size_t offset = yajl_get_bytes_consumed(h);
  if (st == yajl_status_ok) {
    st = yajl_complete_parse(h);
    if (st != yajl_status_ok) offset = text.size();
  }
  std::string message;
  if (st == yajl_status_client_canceled) {
    message = builder.error;
  } else if (st != yajl_status_ok) {
    message = YajlMessage(h, text);
  }
  yajl_free(h);
  if (st != yajl_status_ok) {
    return absl::InvalidArgumentError(absl::StrCat("json: ", Where(text, offset), ": ", message));
  }
  if (!builder.have_root) return absl::InvalidArgumentError("json: empty document");
  return std::move(builder.root);
}

namespace {

// An owned file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

absl::StatusOr<std::string> ReadAll(const std::string& path, size_t max_bytes) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    int e = errno;
    return absl::ErrnoToStatus(e, absl::StrCat("open ", path));
  }
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      return absl::ErrnoToStatus(e, absl::StrCat("read ", path));
    }
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
    }
  }
  return out;
}

}  // namespace

absl::StatusOr<Value> ParseFile(const std::string& path, size_t max_bytes) {
  absl::StatusOr<std::string> text = ReadAll(path, max_bytes);
  if (!text.ok()) return text.status();
  absl::StatusOr<Value> v = Parse(*text);
  if (!v.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", v.status().message()));
  }
  return v;
}

namespace {

// Writes a string; invalid UTF-8 as U+FFFD, so the output is always JSON.
void GenString(yajl_gen g, std::string_view s) {
  std::optional<std::string> fixed = FixUtf8(s);
  if (fixed) s = *fixed;
  yajl_gen_string(g, reinterpret_cast<const unsigned char*>(s.data()), s.size());
}

void Gen(yajl_gen g, const Value& v) {
  switch (v.type()) {
    case Type::kNull:
      yajl_gen_null(g);
      return;
    case Type::kBool:
      yajl_gen_bool(g, v.as_bool());
      return;
    case Type::kInt: {
      std::string s = std::to_string(v.raw_int());
      yajl_gen_number(g, s.data(), s.size());
      return;
    }
    case Type::kUint: {
      std::string s = std::to_string(v.raw_uint());
      yajl_gen_number(g, s.data(), s.size());
      return;
    }
    case Type::kDouble: {
      double d = v.raw_double();
      if (!std::isfinite(d)) {
        yajl_gen_null(g);  // JSON has no NaN or infinity
        return;
      }
      char buf[64];
      auto r = std::to_chars(buf, buf + sizeof(buf), d);
      std::string s(buf, r.ptr);
      if (s.find_first_of(".e") == std::string::npos) s += ".0";  // stays a double
      yajl_gen_number(g, s.data(), s.size());
      return;
    }
    case Type::kString:
      GenString(g, v.as_string());
      return;
    case Type::kArray:
      yajl_gen_array_open(g);
      for (const Value& e : v.as_array()) Gen(g, e);
      yajl_gen_array_close(g);
      return;
    case Type::kObject:
      yajl_gen_map_open(g);
      for (const auto& [k, e] : v.as_object()) {
        GenString(g, k);
        Gen(g, e);
      }
      yajl_gen_map_close(g);
      return;
  }
}

}  // namespace

std::string Write(const Value& value, bool pretty) {
  yajl_gen g = yajl_gen_alloc(nullptr);
  if (pretty) {
    yajl_gen_config(g, yajl_gen_beautify, 1);
    yajl_gen_config(g, yajl_gen_indent_string, "  ");
  }
  Gen(g, value);
  const unsigned char* buf = nullptr;
  size_t len = 0;
  yajl_gen_get_buf(g, &buf, &len);
  std::string out(reinterpret_cast<const char*>(buf), len);
  yajl_gen_free(g);
  return out;
}

}  // namespace peapod::json
