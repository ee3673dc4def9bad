// Which cgroup layout the host has, read from /proc/self/mountinfo.
//
//   legacy  (pure v1): one "cgroup" mount per controller set, no cgroup2.
//   hybrid:  v1 controller mounts plus a cgroup2 mount without controllers,
//            usually at /sys/fs/cgroup/unified (systemd's "hybrid" layout).
//   unified (pure v2): cgroup2 with the controllers, usually /sys/fs/cgroup.
//
// Nothing is cached: every pea process detects the layout afresh, so a state
// record never has to store it.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace peapod::cgroups {

enum class Mode { kLegacy, kHybrid, kUnified };

// "legacy", "hybrid" or "unified".
absl::string_view ModeName(Mode mode);

// One mounted v1 hierarchy.
struct V1Hierarchy {
  std::string mountpoint;                // e.g. /sys/fs/cgroup/memory
  std::vector<std::string> controllers;  // {"cpu", "cpuacct"}, or {"name=systemd"}
};

// The cgroup filesystems visible to this process.
struct Host {
  Mode mode = Mode::kUnified;
  std::vector<V1Hierarchy> v1;  // empty in unified mode
  std::string unified;          // cgroup2 mountpoint; "" in legacy mode
};

// Classifies the cgroup mounts listed in a mountinfo document. Only mounts
// whose root is "/" count (a bind mount of a sub-cgroup is not a hierarchy
// root); the first mount of each hierarchy wins.
absl::StatusOr<Host> ParseMountinfo(absl::string_view mountinfo);

// Reads /proc/self/mountinfo and checks the cgroup2 mount with statfs().
absl::StatusOr<Host> DetectHost();

// The v1 hierarchy that carries `controller` ("memory", "name=systemd"), or
// nullptr if it is not mounted.
const V1Hierarchy* FindV1(const Host& host, absl::string_view controller);

}  // namespace peapod::cgroups
