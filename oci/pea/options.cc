#include "oci/pea/options.h"

#include <unistd.h>

#include <cctype>
#include <cmath>
#include <filesystem>
#include <limits>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kCreateFlags[] = {
    {"bundle", "b", FlagKind::kValue,
     "path to the root of the bundle directory, defaults to the current directory"},
    {"console-socket", "", FlagKind::kValue,
     "path to an AF_UNIX socket which will receive a file descriptor referencing the master "
     "end of the console's pseudoterminal"},
    {"pid-file", "", FlagKind::kValue, "specify the file to write the process id to"},
    {"no-pivot", "", FlagKind::kBool,
     "do not use pivot root to jail process inside rootfs (for a rootfs on a ramdisk)"},
    {"no-new-keyring", "", FlagKind::kBool,
     "accepted for runc compatibility; pea never creates a session keyring"},
    {"preserve-fds", "", FlagKind::kValue,
     "Pass N additional file descriptors to the container (stdio + $LISTEN_FDS + N in total)", "0"},
};

absl::StatusOr<int> ParseCount(std::string_view flag, const std::string& text) {
  int n = 0;
  if (!absl::SimpleAtoi(text, &n) || n < 0) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", text, "\" for flag --",
                                                   std::string(flag), ": not a count"));
  }
  return n;
}

template <typename T>
absl::Status ParseNumberFlag(const ParsedFlags& flags, std::string_view name,
                             std::optional<T>* out) {
  if (!flags.Has(name)) return absl::OkStatus();
  std::string text = flags.Value(name);
  using Wide = std::conditional_t<std::is_signed_v<T>, int64_t, uint64_t>;
  Wide v{};
  if (!absl::SimpleAtoi(text, &v) || v < std::numeric_limits<T>::min() ||
      v > std::numeric_limits<T>::max()) {
    return absl::InvalidArgumentError(absl::StrCat("invalid value \"", text, "\" for flag --",
                                                   std::string(name), ": not a number"));
  }
  *out = static_cast<T>(v);
  return absl::OkStatus();
}

absl::Status ParseBytesFlag(const ParsedFlags& flags, std::string_view name,
                            std::optional<int64_t>* out) {
  if (!flags.Has(name)) return absl::OkStatus();
  absl::StatusOr<int64_t> v = ParseBytes(flags.Value(name));
  if (!v.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(name), ": ", v.status().message()));
  }
  *out = *v;
  return absl::OkStatus();
}

absl::StatusOr<oci::User> ParseUser(const std::string& text, oci::User user) {
  std::vector<std::string> parts = absl::StrSplit(text, ':');
  if (parts.size() > 2 || !absl::SimpleAtoi(parts[0], &user.uid) ||
      (parts.size() == 2 && !absl::SimpleAtoi(parts[1], &user.gid))) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid --user \"", text, "\": expected <uid>[:<gid>] (numbers)"));
  }
  if (parts.size() == 1) user.gid = 0;
  user.additional_gids.clear();
  return user;
}

}  // namespace

std::span<const FlagSpec> CreateFlags() { return kCreateFlags; }

std::string Absolute(const std::string& path) {
  if (path.empty() || path[0] == '/') return path;
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path, ec);
  if (ec) return path;
  std::string out = abs.lexically_normal().string();
  if (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

absl::StatusOr<runtime::CreateOptions> BuildCreateOptions(const ParsedFlags& flags) {
  runtime::CreateOptions c;
  if (flags.positional.empty()) return absl::InvalidArgumentError("container id cannot be empty");
  c.id = flags.positional[0];
  if (c.id.empty()) return absl::InvalidArgumentError("container id cannot be empty");
  c.bundle = Absolute(flags.Value("bundle"));
  if (c.bundle.empty()) c.bundle = Absolute(".");
  c.pid_file = Absolute(flags.Value("pid-file"));
  c.console_socket = Absolute(flags.Value("console-socket"));
  c.no_pivot = flags.Bool("no-pivot");
  absl::StatusOr<int> n = ParseCount("preserve-fds", flags.Value("preserve-fds", "0"));
  if (!n.ok()) return n.status();
  c.preserve_fds = *n;
  return c;
}

absl::StatusOr<oci::Process> BuildExecProcess(const oci::Process& base, const ParsedFlags& flags) {
  oci::Process p = base;
  p.args.assign(flags.positional.begin() + (flags.positional.empty() ? 0 : 1),
                flags.positional.end());
  if (p.args.empty()) return absl::InvalidArgumentError("exec args cannot be empty");
  if (flags.Has("cwd")) p.cwd = flags.Value("cwd");
  for (const std::string& e : flags.Values("env")) {
    if (e.find('=') == std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("invalid --env \"", e, "\": expected K=V"));
    }
    p.env.push_back(e);
  }
  p.terminal = flags.Bool("tty");
  if (!p.terminal) p.console_size.reset();
  if (flags.Has("no-new-privs")) p.no_new_privileges = flags.Bool("no-new-privs");
  if (flags.Has("apparmor")) p.apparmor_profile = flags.Value("apparmor");
  if (flags.Has("process-label")) p.selinux_label = flags.Value("process-label");
  if (flags.Has("user")) {
    absl::StatusOr<oci::User> u = ParseUser(flags.Value("user"), p.user);
    if (!u.ok()) return u.status();
    p.user = *u;
  }
  for (const std::string& g : flags.Values("additional-gids")) {
    uint32_t gid = 0;
    if (!absl::SimpleAtoi(g, &gid)) {
      return absl::InvalidArgumentError(absl::StrCat("invalid --additional-gids \"", g, "\""));
    }
    p.user.additional_gids.push_back(gid);
  }
  std::vector<std::string> caps = flags.Values("cap");
  if (!caps.empty()) {
    if (!p.capabilities) p.capabilities.emplace();
    for (std::string cap : caps) {
      absl::AsciiStrToUpper(&cap);
      if (!cap.starts_with("CAP_")) cap = "CAP_" + cap;
      for (auto* set :
           {&p.capabilities->bounding, &p.capabilities->effective, &p.capabilities->permitted}) {
        set->push_back(cap);
      }
    }
  }
  return p;
}

absl::StatusOr<oci::Resources> BuildResources(const ParsedFlags& flags) {
  oci::Resources r;
  oci::Memory mem;
  oci::Cpu cpu;
  absl::Status s;
  for (auto [name, slot] : {std::pair{"memory", &mem.limit},
                            {"memory-swap", &mem.swap},
                            {"memory-reservation", &mem.reservation},
                            {"kernel-memory", &mem.kernel},
                            {"kernel-memory-tcp", &mem.kernel_tcp}}) {
    if (s = ParseBytesFlag(flags, name, slot); !s.ok()) return s;
  }
  if (s = ParseNumberFlag(flags, "cpu-share", &cpu.shares); !s.ok()) return s;
  if (s = ParseNumberFlag(flags, "cpu-quota", &cpu.quota); !s.ok()) return s;
  if (s = ParseNumberFlag(flags, "cpu-period", &cpu.period); !s.ok()) return s;
  if (s = ParseNumberFlag(flags, "cpu-rt-runtime", &cpu.realtime_runtime); !s.ok()) return s;
  if (s = ParseNumberFlag(flags, "cpu-rt-period", &cpu.realtime_period); !s.ok()) return s;
  if (flags.Has("cpuset-cpus")) cpu.cpus = flags.Value("cpuset-cpus");
  if (flags.Has("cpuset-mems")) cpu.mems = flags.Value("cpuset-mems");
  std::optional<int64_t> pids;
  if (s = ParseNumberFlag(flags, "pids-limit", &pids); !s.ok()) return s;
  if (pids) r.pids = oci::Pids{*pids};
  std::optional<uint16_t> weight;
  if (s = ParseNumberFlag(flags, "blkio-weight", &weight); !s.ok()) return s;
  if (weight) r.block_io.emplace().weight = weight;
  if (mem.limit || mem.swap || mem.reservation || mem.kernel || mem.kernel_tcp) r.memory = mem;
  if (cpu.shares || cpu.quota || cpu.period || cpu.realtime_runtime || cpu.realtime_period ||
      !cpu.cpus.empty() || !cpu.mems.empty()) {
    r.cpu = cpu;
  }
  return r;
}

absl::StatusOr<int64_t> ParseBytes(std::string_view text) {
  std::string t = absl::AsciiStrToLower(absl::StripAsciiWhitespace(std::string(text)));
  if (t == "-1") return -1;
  size_t digits = 0;
  while (digits < t.size() &&
         (std::isdigit(static_cast<unsigned char>(t[digits])) || t[digits] == '.'))
    ++digits;
  double value = 0;
  if (digits == 0 || !absl::SimpleAtod(t.substr(0, digits), &value)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid size \"", std::string(text), "\""));
  }
  std::string unit = t.substr(digits);
  if (unit.ends_with("ib")) unit.erase(unit.size() - 2);
  if (unit.size() == 2 && unit[1] == 'b') unit.pop_back();
  static constexpr std::pair<std::string_view, int> kUnits[] = {
      {"", 0}, {"b", 0}, {"k", 1}, {"m", 2}, {"g", 3}, {"t", 4}, {"p", 5}};
  for (auto [name, power] : kUnits) {
    if (unit != name) continue;
    double bytes = value * std::pow(1024.0, power);
    if (bytes > static_cast<double>(std::numeric_limits<int64_t>::max())) break;
    return static_cast<int64_t>(bytes);
  }
  return absl::InvalidArgumentError(absl::StrCat("invalid size \"", std::string(text), "\""));
}

absl::StatusOr<std::chrono::nanoseconds> ParseDuration(std::string_view text) {
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ns", 1},         {"us", 1000},       {"µs", 1000},        {"ms", 1000000},
      {"s", 1000000000}, {"m", 60000000000}, {"h", 3600000000000}};
  auto bad = [&] {
    return absl::InvalidArgumentError(absl::StrCat("invalid duration \"", std::string(text), "\""));
  };
  if (text.empty()) return bad();
  int64_t total = 0;
  std::string_view rest = text;
  while (!rest.empty()) {
    size_t digits = 0;
    while (digits < rest.size() && std::isdigit(static_cast<unsigned char>(rest[digits]))) ++digits;
    int64_t n = 0;
    if (digits == 0 || !absl::SimpleAtoi(std::string(rest.substr(0, digits)), &n)) return bad();
    rest.remove_prefix(digits);
    size_t unit_len = 0;
    while (unit_len < rest.size() && !std::isdigit(static_cast<unsigned char>(rest[unit_len])))
      ++unit_len;
    std::string_view unit = rest.substr(0, unit_len);
    rest.remove_prefix(unit_len);
    bool found = false;
    for (auto [name, scale] : kUnits) {
      if (unit == name) {
        total += n * scale;
        found = true;
      }
    }
    if (!found) return bad();
  }
  return std::chrono::nanoseconds(total);
}

}  // namespace peapod::pea
