#include "oci/cgroups/mode.h"

#include <errno.h>
#include <linux/magic.h>
#include <sys/vfs.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace peapod::cgroups {
namespace {

constexpr absl::string_view kV1Controllers[] = {
    "cpuset",  "cpu",        "cpuacct",  "blkio",   "memory", "devices", "freezer",
    "net_cls", "perf_event", "net_prio", "hugetlb", "pids",   "rdma",    "misc"};

bool IsV1Controller(absl::string_view opt) {
  return std::find(std::begin(kV1Controllers), std::end(kV1Controllers), opt) !=
         std::end(kV1Controllers);
}

// Undoes mountinfo's octal escapes (\040 for a space, ...).
std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() &&
        s.substr(i + 1, 3).find_first_not_of("01234567") == absl::string_view::npos) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

struct MountLine {
  std::string root, mountpoint, fstype;
  std::vector<std::string> super_options;
};

// Splits one mountinfo line; false if it is malformed.
bool ParseLine(absl::string_view line, MountLine* out) {
  std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
  auto dash = std::find(f.begin(), f.end(), "-");
  if (f.size() < 7 || dash == f.end() || f.end() - dash < 4) return false;
  out->root = Unescape(f[3]);
  out->mountpoint = Unescape(f[4]);
  out->fstype = std::string(dash[1]);
  out->super_options = absl::StrSplit(dash[3], ',');
  return true;
}

}  // namespace

absl::string_view ModeName(Mode mode) {
  switch (mode) {
    case Mode::kLegacy:
      return "legacy";
    case Mode::kHybrid:
      return "hybrid";
    case Mode::kUnified:
      return "unified";
  }
  return "unknown";
}

absl::StatusOr<Host> ParseMountinfo(absl::string_view mountinfo) {
  Host host;
  bool v1_controllers = false;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    MountLine m;
    if (!ParseLine(line, &m) || m.root != "/") continue;
    if (m.fstype == "cgroup2") {
      if (host.unified.empty()) host.unified = m.mountpoint;
      continue;
    }
    if (m.fstype != "cgroup") continue;
    V1Hierarchy h{m.mountpoint, {}};
    for (const std::string& opt : m.super_options) {
      if (IsV1Controller(opt)) {
        h.controllers.push_back(opt);
        v1_controllers = true;
      } else if (opt.starts_with("name=")) {
        h.controllers.push_back(opt);
      }
    }
    if (h.controllers.empty() || FindV1(host, h.controllers.front()) != nullptr) continue;
    host.v1.push_back(std::move(h));
  }
  if (v1_controllers) {
    host.mode = host.unified.empty() ? Mode::kLegacy : Mode::kHybrid;
  } else if (!host.unified.empty()) {
    host.mode = Mode::kUnified;
    host.v1.clear();  // named-only v1 hierarchies are not used in unified mode
  } else {
    return absl::FailedPreconditionError(
        "no cgroup filesystem is mounted (see /proc/self/mountinfo)");
  }
  return host;
}

absl::StatusOr<Host> DetectHost() {
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return absl::ErrnoToStatus(errno, "open /proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  auto host = ParseMountinfo(text.str());
  if (!host.ok()) return host.status();
  if (!host->unified.empty()) {
    struct statfs sfs;
    if (statfs(host->unified.c_str(), &sfs) != 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("statfs ", host->unified));
    }
    if (sfs.f_type != CGROUP2_SUPER_MAGIC) {
      return absl::FailedPreconditionError(
          absl::StrCat(host->unified, " is listed as cgroup2 but is not a cgroup2 filesystem"));
    }
  }
  return host;
}

const V1Hierarchy* FindV1(const Host& host, absl::string_view controller) {
  for (const V1Hierarchy& h : host.v1) {
    if (std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end()) {
      return &h;
    }
  }
  return nullptr;
}

}  // namespace peapod::cgroups
