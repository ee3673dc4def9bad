// StopPodSandbox: containers first, then the infra; the pod stays listed,
// NOTREADY, until RemovePodSandbox. Unknown ids are fine (as containerd).
#include <signal.h>

#include "cri/server/handlers.h"
#include "cri/server/pod_network.h"
#include "cri/server/pod_ops.h"
#include "cri/util/str.h"

namespace peapod::cri {

absl::Status StopPod(Daemon& d, const PodRecord& pod) {
  // 1. Every container of the pod, at once (a kubelet has already given
  //    them their grace period through StopContainer).
  absl::Status first = StopPodContainers(d, pod.id, 0);

  // 2. Network teardown (pod_network.h): CNI DEL in the pinned netns, then
  //    unpin; idempotent, and right for half-built pods too.
  if (absl::Status s = TearDownPodNetwork(d, pod); !s.ok() && first.ok()) first = s;

  // 3. The infra: SIGKILL (as PID 1 of a shared PID namespace this ends
  //    every process left in it), then wait for the shim to reap it.
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = PodShim(d, pod);
  if (shim.ok()) {
    absl::StatusOr<task::StateResponse> st = (*shim)->State(pod.id);
    if (st.ok() && st->status() != containerd::v1::types::STOPPED) {
      absl::Status k = (*shim)->Kill(pod.id, SIGKILL, true);
      if (!k.ok() && !absl::IsNotFound(k) && first.ok()) first = k;
      absl::StatusOr<ExitInfo> w = (*shim)->Wait(pod.id, "", std::chrono::seconds(10));
      if (!w.ok() && first.ok()) first = w.status();
    } else if (!st.ok() && !absl::IsNotFound(st.status()) && first.ok()) {
      first = st.status();
    }
  } else {
    // No shim: the runtime kills and forgets the infra by its state.
    absl::Status s = ShimDeleteAction(d, pod.id, PodDir(d, pod.id));
    if (!s.ok()) d.log.Warn(Cat("pod ", pod.id, ": ", s.ToString()));
  }

  // 4. NOTREADY, persisted.
  if (pod.state != PodState::kNotReady) {
    absl::StatusOr<PodRecord> now = d.pods->Get(pod.id);
    if (now.ok()) {
      now->state = PodState::kNotReady;
      if (absl::Status s = d.pods->Update(*now); !s.ok() && first.ok()) first = s;
    }
  }
  return first;
}

absl::Status HandleStopPodSandbox(Daemon& d, const ::runtime::v1::StopPodSandboxRequest& req,
                                  ::runtime::v1::StopPodSandboxResponse&) {
  return WithLockedPod(d, req.pod_sandbox_id(), "stop pod sandbox", StopPod);
}

}  // namespace peapod::cri
