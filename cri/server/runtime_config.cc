// RuntimeConfig: the runtime's side of settings the kubelet must agree with.
// A kubelet with KubeletCgroupDriverFromCRI takes its cgroup driver from
// here instead of its own config.
#include "cri/server/handlers.h"

namespace peapod::cri {

absl::Status HandleRuntimeConfig(Daemon&, const ::runtime::v1::RuntimeConfigRequest&,
                                 ::runtime::v1::RuntimeConfigResponse& resp) {
  // peapod manages cgroups as files (runc's cgroupfs driver): a systemd-style
  // cgroup_parent ("x.slice") names a path too, and no systemd unit is made.
  resp.mutable_linux()->set_cgroup_driver(::runtime::v1::CGROUPFS);
  return absl::OkStatus();
}

}  // namespace peapod::cri
