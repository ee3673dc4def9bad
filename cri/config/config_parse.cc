// TOML → Config. Each key is read by one small function; anything not
// consumed is reported as unknown, so a typo never silently keeps a default.
#include <arpa/inet.h>

#include <fstream>
#include <set>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_split.h"
#include "cri/config/config.h"
#include "cri/util/str.h"

#define TOML_ENABLE_FORMATTERS 1
#include <toml++/toml.h>

namespace peapod::cri {
namespace {

absl::Status KeyError(std::string_view origin, std::string_view key, std::string_view what) {
  return absl::InvalidArgumentError(Cat(origin, ": ", key, ": ", what));
}

absl::Status ReadString(const toml::table& t, std::string_view origin, std::string_view prefix,
                        std::string_view key, std::string& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  std::optional<std::string> v = n->value<std::string>();
  if (!n->is_string() || !v) return KeyError(origin, Cat(prefix, key), "expected a string");
  if (v->empty()) return KeyError(origin, Cat(prefix, key), "must not be empty");
  out = *v;
  return absl::OkStatus();
}

absl::Status ReadInt(const toml::table& t, std::string_view origin, std::string_view key, int lo,
                     int hi, int& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  std::optional<int64_t> v = n->value<int64_t>();
  if (!n->is_integer() || !v) return KeyError(origin, key, "expected an integer");
  if (*v < lo || *v > hi) return KeyError(origin, key, Cat("must be from ", lo, " to ", hi));
  out = static_cast<int>(*v);
  return absl::OkStatus();
}

// A path list: an array of strings, or one string of ':'-separated paths.
absl::Status ReadPathList(const toml::table& t, std::string_view origin, std::string_view key,
                          std::vector<std::string>& out) {
  const toml::node* n = t.get(key);
  if (n == nullptr) return absl::OkStatus();
  std::string name = Cat("cni.", key);
  std::vector<std::string> dirs;
  if (n->is_string()) {
    for (absl::string_view d : absl::StrSplit(*n->value<std::string>(), ':', absl::SkipEmpty())) {
      dirs.emplace_back(d);
    }
  } else if (const toml::array* a = n->as_array()) {
    for (const toml::node& e : *a) {
      if (!e.is_string()) return KeyError(origin, name, "expected an array of strings");
      dirs.push_back(*e.value<std::string>());
    }
  } else {
    return KeyError(origin, name, "expected a string or an array of strings");
  }
  if (dirs.empty()) return KeyError(origin, name, "must name at least one directory");
  out = std::move(dirs);
  return absl::OkStatus();
}

absl::Status CheckKnown(const toml::table& t, std::string_view origin, std::string_view prefix,
                        const std::set<std::string_view>& known) {
  for (const auto& [k, v] : t) {
    if (!known.contains(k.str())) {
      return KeyError(origin, Cat(prefix, k.str()), "unknown key");
    }
  }
  return absl::OkStatus();
}

absl::Status ReadCni(const toml::table& root, std::string_view origin, Config& c) {
  const toml::node* n = root.get("cni");
  if (n == nullptr) return absl::OkStatus();
  const toml::table* t = n->as_table();
  if (t == nullptr) return KeyError(origin, "cni", "expected a table");
  if (absl::Status s = CheckKnown(*t, origin, "cni.", {"plugin_dirs", "conf_dir", "warm"});
      !s.ok()) {
    return s;
  }
  if (const toml::node* w = t->get("warm"); w != nullptr) {
    if (!w->is_boolean()) return KeyError(origin, "cni.warm", "expected true or false");
    c.cni_warm = *w->value<bool>();
  }
  if (absl::Status s = ReadPathList(*t, origin, "plugin_dirs", c.cni_plugin_dirs); !s.ok()) {
    return s;
  }
  return ReadString(*t, origin, "cni.", "conf_dir", c.cni_conf_dir);
}

absl::Status ReadRegistry(const toml::table& root, std::string_view origin, Config& c) {
  const toml::node* n = root.get("registry");
  if (n == nullptr) return absl::OkStatus();
  const toml::table* t = n->as_table();
  if (t == nullptr) return KeyError(origin, "registry", "expected a table");
  std::ostringstream out;
  out << toml::toml_formatter(*t);
  c.registry_toml = out.str();
  return absl::OkStatus();
}

absl::Status ReadTop(const toml::table& root, std::string_view origin, Config& c) {
  if (absl::Status s =
          CheckKnown(root, origin, "",
                     {"socket", "root", "state_dir", "log_level", "shim_binary", "infra_binary",
                      "shim_spares", "stream_address", "stream_port", "cni", "registry"});
      !s.ok()) {
    return s;
  }
  for (auto [key, field] : {std::pair<std::string_view, std::string*>{"socket", &c.socket_path},
                            {"root", &c.root},
                            {"state_dir", &c.state_dir},
                            {"shim_binary", &c.shim_binary},
                            {"infra_binary", &c.infra_binary},
                            {"stream_address", &c.stream_address}}) {
    if (absl::Status s = ReadString(root, origin, "", key, *field); !s.ok()) return s;
  }
  for (std::string_view key : {"socket", "root", "state_dir"}) {
    const toml::node* n = root.get(key);
    if (n != nullptr && !n->value<std::string>()->starts_with("/")) {
      return KeyError(origin, key, "must be an absolute path");
    }
  }
  if (absl::Status s = ReadInt(root, origin, "shim_spares", 0, 16, c.shim_spares); !s.ok()) {
    return s;
  }
  if (absl::Status s = ReadInt(root, origin, "stream_port", 0, 65535, c.stream_port); !s.ok()) {
    return s;
  }
  {
    unsigned char buf[16];
    if (inet_pton(AF_INET, c.stream_address.c_str(), buf) != 1 &&
        inet_pton(AF_INET6, c.stream_address.c_str(), buf) != 1) {
      return KeyError(origin, "stream_address", "must be an IP address");
    }
  }
  std::string level = std::string(LogLevelName(c.log_level));
  if (absl::Status s = ReadString(root, origin, "", "log_level", level); !s.ok()) return s;
  absl::StatusOr<LogLevel> parsed = ParseLogLevel(level);
  if (!parsed.ok()) return KeyError(origin, "log_level", StdView(parsed.status().message()));
  c.log_level = *parsed;
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Config> ParseConfig(std::string_view text, std::string_view origin) {
  toml::table root;
  try {
    root = toml::parse(text, origin);
  } catch (const toml::parse_error& e) {
    return absl::InvalidArgumentError(Cat(origin, ":", static_cast<uint64_t>(e.source().begin.line),
                                          ":", static_cast<uint64_t>(e.source().begin.column), ": ",
                                          e.description()));
  }
  Config c;
  if (absl::Status s = ReadTop(root, origin, c); !s.ok()) return s;
  if (absl::Status s = ReadCni(root, origin, c); !s.ok()) return s;
  if (absl::Status s = ReadRegistry(root, origin, c); !s.ok()) return s;
  return c;
}

absl::StatusOr<Config> LoadConfig(const std::string& path, bool optional) {
  std::ifstream in(path);
  if (!in) {
    if (optional && errno == ENOENT) return Config{};
    return absl::ErrnoToStatus(errno, "open " + path);
  }
  std::stringstream text;
  text << in.rdbuf();
  return ParseConfig(text.str(), path);
}

absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name) {
  if (name == "debug") return LogLevel::kDebug;
  if (name == "info") return LogLevel::kInfo;
  if (name == "warn") return LogLevel::kWarn;
  if (name == "error") return LogLevel::kError;
  return absl::InvalidArgumentError(
      Cat("unknown log level \"", name, "\" (want debug, info, warn or error)"));
}

std::string_view LogLevelName(LogLevel level) {
  switch (level) {
    case LogLevel::kDebug:
      return "debug";
    case LogLevel::kInfo:
      return "info";
    case LogLevel::kWarn:
      return "warn";
    case LogLevel::kError:
      return "error";
  }
  return "info";
}

}  // namespace peapod::cri
