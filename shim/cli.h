// The command line containerd gives a shim (runtime/v2/shim flags, Go flag
// syntax: -name value, --name value, -name=value):
//   containerd-shim-peapod-v2 -namespace N -address A -publish-binary B
//       -id ID [-debug] [-bundle PATH] start|delete
// and where a shim group's socket lives.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::shim {

struct Flags {
  std::string ns, address, publish_binary, id, bundle, socket;
  bool debug = false, version = false;
  std::string action;  // "start", "delete" or "" (serve)
};

// Parses argv (without argv[0]).
absl::StatusOr<Flags> ParseFlags(const std::vector<std::string>& args);

// The socket path of the shim serving `group` for this containerd and
// namespace: <dir>/<128-bit hash>, stable across calls so a second `start`
// of the same group finds the running shim.
std::string GroupSocketPath(const std::string& dir, const std::string& containerd_address,
                            const std::string& ns, const std::string& group);

// The shim group of a bundle: its config.json annotation
// io.kubernetes.cri.sandbox-id (containerd's CRI puts all of a pod's
// containers there), else the task id itself.
std::string GroupOf(const std::string& bundle, const std::string& id);

}  // namespace peapod::shim
