// RemovePodSandbox: everything of the pod goes — containers, infra task,
// shim, directory, record. Unknown ids are fine (as containerd), and so is
// removing a pod whose RunPodSandbox was cut short.
#include <sys/mount.h>

#include <filesystem>

#include "cri/server/handlers.h"
#include "cri/server/pod_ops.h"
#include "cri/util/str.h"

namespace peapod::cri {

namespace fs = std::filesystem;

absl::Status RemovePod(Daemon& d, const PodRecord& pod) {
  // 1. Stopped first: no process of the pod runs past this point.
  if (absl::Status s = StopPod(d, pod); !s.ok()) return s;
  // 2. Its containers: tasks, rootfs mounts, bundles, records.
  if (absl::Status s = RemovePodContainers(d, pod.id); !s.ok()) return s;
  // 3. The infra task and the shim (it exits with its last task gone). A
  //    shim that is gone left runtime state that its `delete` action clears.
  const std::string dir = PodDir(d, pod.id);
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = PodShim(d, pod);
  if (shim.ok()) {
    absl::StatusOr<ExitInfo> del = (*shim)->Delete(pod.id);
    if (!del.ok() && !absl::IsNotFound(del.status())) return del.status();
    if (absl::Status s = (*shim)->Shutdown(pod.id); !s.ok()) return s;
    shim->reset();
    ShimClient::AwaitExit(PodShimAddress(d, pod));
  } else if (absl::Status s = ShimDeleteAction(d, pod.id, dir); !s.ok()) {
    return s;
  }
  // 4. The pod dir (nothing is mounted in it; detach anything a crash left).
  umount2((dir + "/rootfs").c_str(), MNT_DETACH);
  std::error_code ec;
  fs::remove_all(dir, ec);
  if (ec) return absl::InternalError(Cat("remove ", dir, ": ", ec.message()));
  // 5. The record last: until here a retry finds the pod.
  absl::Status s = d.pods->Remove(pod.id);
  if (absl::IsNotFound(s)) return absl::OkStatus();
  if (s.ok()) d.log.Info(Cat("pod ", pod.id, " removed"));
  return s;
}

absl::Status HandleRemovePodSandbox(Daemon& d, const ::runtime::v1::RemovePodSandboxRequest& req,
                                    ::runtime::v1::RemovePodSandboxResponse&) {
  return WithLockedPod(d, req.pod_sandbox_id(), "remove pod sandbox", RemovePod);
}

}  // namespace peapod::cri
