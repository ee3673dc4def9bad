// linux.cgroupsPath rules (runc's cgroupfs driver, no systemd).
//
//   ""            -> /pea/<id>
//   "/a/b"        -> /a/b, relative to the root of every hierarchy
//   "a/b"         -> /pea/a/b, under the default parent
//
// Components must be plain names: "..", ".", empty components ("a//b"),
// control characters and the root itself are rejected with
// InvalidArgument. The systemd driver form "slice:prefix:name" is recognised
// and rejected with an error that says so.
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peapod::cgroups {

// Parent of containers whose cgroupsPath is empty or relative.
inline constexpr absl::string_view kDefaultParent = "/pea";

// True if `cgroups_path` has the systemd driver form "slice:prefix:name".
bool IsSystemdCgroupsPath(absl::string_view cgroups_path);

// The absolute cgroup path (e.g. "/pea/<id>") for a container, or
// InvalidArgument naming the bad path.
absl::StatusOr<std::string> ResolveCgroupsPath(absl::string_view cgroups_path,
                                               absl::string_view id);

}  // namespace peapod::cgroups
