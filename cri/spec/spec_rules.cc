#include "cri/spec/spec_rules.h"

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "oci/seccomp/default_profile.h"
#include "oci/spec/capability_names.h"

namespace peapod::cri::spec {
namespace {

// "net_admin" / "CAP_NET_ADMIN" -> "CAP_NET_ADMIN"; "" when unknown.
std::string CanonicalCap(absl::string_view name) {
  std::string up = absl::AsciiStrToUpper(name);
  if (!absl::StartsWith(up, "CAP_")) up = absl::StrCat("CAP_", up);
  for (std::string_view c : oci::kCapabilityNames) {
    if (up == c) return up;
  }
  return "";
}

bool Contains(const std::vector<std::string>& v, absl::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

bool IsAll(absl::string_view s) { return absl::AsciiStrToUpper(s) == "ALL"; }

absl::StatusOr<oci::Seccomp> LoadSeccompFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    return absl::InvalidArgumentError(
        absl::StrCat("seccomp: cannot read localhost profile ", path));
  }
  std::stringstream text;
  text << in.rdbuf();
  // The profile is a linux.seccomp object; parse it through oci/spec, the
  // project's one reader of OCI JSON.
  std::string doc = absl::StrCat(R"({"ociVersion":"1.1.0","root":{"path":"r"},"linux":{"seccomp":)",
                                 text.str(), "}}");
  absl::StatusOr<oci::Spec> spec = oci::ParseSpec(doc);
  if (!spec.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("seccomp: localhost profile ", path, ": ", spec.status().message()));
  }
  if (!spec->linux || !spec->linux->seccomp) {
    return absl::InvalidArgumentError(
        absl::StrCat("seccomp: localhost profile ", path, " is empty"));
  }
  return *spec->linux->seccomp;
}

}  // namespace

const std::vector<std::string>& DefaultCapabilities() {
  static const auto* caps = new std::vector<std::string>{
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE"};
  return *caps;
}

std::vector<std::string> AllCapabilities() {
  int last = static_cast<int>(oci::kCapabilityNames.size()) - 1;
  std::ifstream in("/proc/sys/kernel/cap_last_cap");
  int k = 0;
  if (in >> k && k >= 0 && k < last) last = k;
  // Only what peapodd itself may hand out: its bounding set (containerd does
  // the same). A VM without CAP_SYS_RESOURCE would otherwise fail every
  // privileged container at capset(2).
  uint64_t bounding = ~uint64_t{0};
  std::ifstream status("/proc/self/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("CapBnd:", 0) == 0) {
      bounding = std::strtoull(line.c_str() + 7, nullptr, 16);
      break;
    }
  }
  std::vector<std::string> caps;
  for (int i = 0; i <= last; ++i) {
    if (i >= 64 || (bounding >> i) & 1) caps.emplace_back(oci::kCapabilityNames[i]);
  }
  return caps;
}

const std::vector<std::string>& DefaultMaskedPaths() {
  static const auto* paths = new std::vector<std::string>{"/proc/acpi",
                                                          "/proc/asound",
                                                          "/proc/kcore",
                                                          "/proc/keys",
                                                          "/proc/latency_stats",
                                                          "/proc/timer_list",
                                                          "/proc/timer_stats",
                                                          "/proc/sched_debug",
                                                          "/proc/scsi",
                                                          "/sys/firmware",
                                                          "/sys/devices/virtual/powercap"};
  return *paths;
}

const std::vector<std::string>& DefaultReadonlyPaths() {
  static const auto* paths = new std::vector<std::string>{"/proc/bus", "/proc/fs", "/proc/irq",
                                                          "/proc/sys", "/proc/sysrq-trigger"};
  return *paths;
}

absl::StatusOr<std::vector<std::string>> ProcessArgs(const std::vector<std::string>& command,
                                                     const std::vector<std::string>& args,
                                                     const ImageConfigInput& image) {
  std::vector<std::string> out = command.empty() ? image.entrypoint : command;
  const std::vector<std::string>& tail = (args.empty() && command.empty()) ? image.cmd : args;
  out.insert(out.end(), tail.begin(), tail.end());
  if (out.empty()) {
    return absl::InvalidArgumentError("command: none given and the image has no entrypoint or cmd");
  }
  return out;
}

absl::StatusOr<std::vector<std::string>> MergeEnv(
    const std::vector<std::string>& base,
    const std::vector<std::pair<std::string, std::string>>& overrides) {
  std::vector<std::string> out;
  auto key_of = [](absl::string_view kv) { return kv.substr(0, kv.find('=')); };
  auto put = [&](std::string kv) {
    absl::string_view key = key_of(kv);
    for (std::string& e : out) {
      if (key_of(e) == key) {
        e = std::move(kv);
        return;
      }
    }
    out.push_back(std::move(kv));
  };
  for (const std::string& kv : base) put(kv);
  for (const auto& [k, v] : overrides) {
    if (k.empty() || k.find('=') != std::string::npos || k.find('\0') != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("envs: bad variable name \"", k, "\""));
    }
    put(absl::StrCat(k, "=", v));
  }
  bool has_path = std::any_of(out.begin(), out.end(),
                              [&](const std::string& e) { return key_of(e) == "PATH"; });
  if (!has_path) out.insert(out.begin(), kDefaultPath);
  return out;
}

absl::StatusOr<std::vector<std::string>> ApplyCapabilities(const CapabilityInput& caps) {
  std::vector<std::string> out = DefaultCapabilities();
  if (std::any_of(caps.add.begin(), caps.add.end(), IsAll)) out = AllCapabilities();
  if (std::any_of(caps.drop.begin(), caps.drop.end(), IsAll)) out.clear();
  for (const std::string& a : caps.add) {
    if (IsAll(a)) continue;
    std::string c = CanonicalCap(a);
    if (c.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("capabilities.add: unknown \"", a, "\""));
    }
    if (!Contains(out, c)) out.push_back(c);
  }
  for (const std::string& d : caps.drop) {
    if (IsAll(d)) continue;
    std::string c = CanonicalCap(d);
    if (c.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("capabilities.drop: unknown \"", d, "\""));
    }
    out.erase(std::remove(out.begin(), out.end(), c), out.end());
  }
  return out;
}

absl::StatusOr<std::optional<oci::Seccomp>> ResolveSeccomp(const SeccompChoice& choice,
                                                           const std::vector<std::string>& caps) {
  switch (choice.kind) {
    case SeccompKind::kUnconfined:
      return std::nullopt;
    case SeccompKind::kRuntimeDefault:
      return seccomp::RuntimeDefaultProfile(caps);
    case SeccompKind::kLocalhost:
      if (choice.localhost_path.empty() || choice.localhost_path[0] != '/') {
        return absl::InvalidArgumentError(absl::StrCat(
            "seccomp.localhost_ref: \"", choice.localhost_path, "\" is not an absolute path"));
      }
      return LoadSeccompFile(choice.localhost_path);
  }
  return absl::InvalidArgumentError("seccomp: unknown profile type");
}

absl::StatusOr<SeccompChoice> ParseLegacySeccompPath(const std::string& path) {
  if (path.empty() || path == "unconfined") return SeccompChoice{SeccompKind::kUnconfined, ""};
  if (path == "runtime/default" || path == "docker/default") {
    return SeccompChoice{SeccompKind::kRuntimeDefault, ""};
  }
  absl::string_view rest = path;
  if (absl::ConsumePrefix(&rest, "localhost/") && !rest.empty() && rest[0] == '/') {
    return SeccompChoice{SeccompKind::kLocalhost, std::string(rest)};
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "seccomp_profile_path: \"", path,
      "\" is none of runtime/default, docker/default, unconfined, localhost/<absolute path>"));
}

absl::Status ValidateSysctls(const std::map<std::string, std::string>& sysctls,
                             NamespaceMode network, NamespaceMode ipc) {
  for (const auto& [key, value] : sysctls) {
    auto bad = [&key](absl::string_view why) {
      return absl::InvalidArgumentError(absl::StrCat("sysctls: \"", key, "\" ", why));
    };
    if (key.empty() || !std::all_of(key.begin(), key.end(), [](char c) {
          return absl::ascii_isalnum(c) || c == '.' || c == '_' || c == '-' || c == '/';
        })) {
      return bad("is not a sysctl name");
    }
    if (value.find_first_of(std::string("\n\r\0", 3)) != std::string::npos) {
      return bad("has a value with a newline or NUL");
    }
    std::string name = absl::StrReplaceAll(key, {{"/", "."}});
    bool is_ipc = absl::StartsWith(name, "kernel.shm") || absl::StartsWith(name, "kernel.msg") ||
                  name == "kernel.sem" || absl::StartsWith(name, "fs.mqueue.");
    bool is_net = absl::StartsWith(name, "net.");
    if (!is_ipc && !is_net)
      return bad(
          "is not namespaced (kernel.shm*, kernel.msg*, kernel.sem, "
          "fs.mqueue.*, net.*)");
    if (is_net && network == NamespaceMode::kNode) return bad("is not allowed with host network");
    if (is_ipc && ipc == NamespaceMode::kNode) return bad("is not allowed with host IPC");
  }
  return absl::OkStatus();
}

bool IsDeniedAnnotation(const std::string& key) {
  static constexpr absl::string_view kPrefixes[] = {
      "run.oci.",           "org.systemd.property.", "io.containerd.",
      "io.kubernetes.cri.", "io.kubernetes.cri-o.",  "peapod.io/",
      "org.criu."};
  for (absl::string_view p : kPrefixes) {
    if (absl::StartsWith(key, p)) return true;
  }
  return key == "bundle" || key == "org.criu.config";
}

std::map<std::string, std::string> FilterAnnotations(
    const std::map<std::string, std::string>& annotations,
    const std::vector<std::string>& allowlist) {
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : annotations) {
    if (IsDeniedAnnotation(key)) continue;
    bool allowed = std::any_of(allowlist.begin(), allowlist.end(), [&key](const std::string& a) {
      if (!a.empty() && a.back() == '*') {
        return absl::StartsWith(key, absl::string_view(a).substr(0, a.size() - 1));
      }
      return key == a;
    });
    if (allowed) out[key] = value;
  }
  return out;
}

}  // namespace peapod::cri::spec
