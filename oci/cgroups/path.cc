#include "oci/cgroups/path.h"

#include <algorithm>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace peapod::cgroups {
namespace {

bool IsValidComponent(absl::string_view c) {
  if (c.empty() || c == "." || c == "..") return false;
  return std::none_of(c.begin(), c.end(), [](char ch) {
    auto u = static_cast<unsigned char>(ch);
    return u < 0x20 || u == 0x7f;
  });
}

absl::Status Invalid(absl::string_view cgroups_path, absl::string_view why) {
  return absl::InvalidArgumentError(
      absl::StrCat("linux.cgroupsPath \"", cgroups_path, "\": ", why));
}

}  // namespace

bool IsSystemdCgroupsPath(absl::string_view cgroups_path) {
  std::vector<absl::string_view> parts = absl::StrSplit(cgroups_path, ':');
  return parts.size() == 3 && cgroups_path.find('/') == absl::string_view::npos;
}

absl::StatusOr<std::string> ResolveCgroupsPath(absl::string_view cgroups_path,
                                               absl::string_view id) {
  if (IsSystemdCgroupsPath(cgroups_path)) {
    return Invalid(cgroups_path,
                   "systemd cgroup form \"slice:prefix:name\" is not supported "
                   "(pea has no systemd cgroup driver; use a cgroupfs path like /pea/<id>)");
  }
  std::string rel;
  if (cgroups_path.empty()) {
    if (!IsValidComponent(id) || id.find('/') != absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("container id \"", id, "\" cannot name a cgroup"));
    }
    return absl::StrCat(kDefaultParent, "/", id);
  }
  absl::string_view body = cgroups_path;
  bool absolute = body.front() == '/';
  if (absolute) body.remove_prefix(1);
  if (body.empty()) return Invalid(cgroups_path, "the root cgroup cannot hold a container");
  for (absl::string_view c : absl::StrSplit(body, '/')) {
    if (!IsValidComponent(c)) {
      return Invalid(cgroups_path, absl::StrCat("invalid component \"", c, "\""));
    }
  }
  return absolute ? absl::StrCat("/", body) : absl::StrCat(kDefaultParent, "/", body);
}

}  // namespace peapod::cgroups
