#include "cri/server/pod_ops.h"

#include <signal.h>

#include <filesystem>

#include "cri/server/container_ops.h"
#include "cri/server/pod_network.h"
#include "cri/store/record_file.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

std::string Trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Ids of the pod's containers, from the store.
std::vector<std::string> PodContainerIds(const Daemon& d, const std::string& pod_id) {
  std::vector<std::string> ids;
  for (const ContainerRecord& c : d.containers->List()) {
    if (c.pod_id == pod_id) ids.push_back(c.id);
  }
  return ids;
}

}  // namespace

std::string PodDir(const Daemon& d, const std::string& pod_id) {
  return Cat(d.config.state_dir, "/pods/", pod_id);
}

std::string PodShimAddress(const Daemon& d, const PodRecord& pod) {
  if (!pod.shim_address.empty()) return pod.shim_address;
  absl::StatusOr<std::string> a = ReadSmallFile(Cat(PodDir(d, pod.id), "/address"));
  return a.ok() ? Trimmed(*a) : "";
}

absl::StatusOr<std::unique_ptr<ShimClient>> PodShim(const Daemon& d, const PodRecord& pod) {
  std::string address = PodShimAddress(d, pod);
  if (address.empty()) return absl::UnavailableError(Cat("pod sandbox ", pod.id, " has no shim"));
  return ShimClient::Connect(address);
}

absl::Status StopPodContainers(Daemon& d, const std::string& pod_id, int64_t timeout_s) {
  absl::Status first;
  for (const std::string& id : PodContainerIds(d, pod_id)) {
    absl::Status s = StopOneContainer(d, id, timeout_s);
    if (absl::IsNotFound(s)) continue;  // removed meanwhile by RemoveContainer
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

absl::Status RemovePodContainers(Daemon& d, const std::string& pod_id) {
  absl::Status first;
  for (const std::string& id : PodContainerIds(d, pod_id)) {
    absl::Status s = RemoveOneContainer(d, id);
    if (!s.ok() && first.ok()) first = s;
  }
  return first;
}

ShimOptions PodShimOptions(const Daemon& d) {
  ShimOptions o;
  o.binary = d.config.shim_binary;
  o.address = d.config.socket_path;
  o.socket_dir = Cat(d.config.state_dir, "/s");
  o.runtime_root = Cat(d.config.state_dir, "/runtime");
  return o;
}

absl::Status WithLockedPod(Daemon& d, const std::string& raw_id, std::string_view what,
                           absl::FunctionRef<absl::Status(Daemon&, const PodRecord&)> op) {
  absl::StatusOr<std::string> id = d.pods->Resolve(raw_id);
  if (absl::IsNotFound(id.status())) return absl::OkStatus();
  if (!id.ok()) return id.status();
  ObjectLocks::Held held = d.pod_locks.Lock(*id);
  absl::StatusOr<PodRecord> pod = d.pods->Get(*id);  // as of holding the lock
  if (absl::IsNotFound(pod.status())) return absl::OkStatus();
  if (!pod.ok()) return pod.status();
  if (absl::Status s = op(d, *pod); !s.ok()) {
    return absl::Status(s.code(), Cat(what, " ", pod->id, ": ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status ShimDeleteAction(Daemon& d, const std::string& id, const std::string& bundle) {
  std::error_code ec;
  if (!std::filesystem::is_directory(bundle, ec)) return absl::OkStatus();
  return ShimClient::DeleteAction(PodShimOptions(d), id, bundle);
}

PodRecord RefreshPod(Daemon& d, PodRecord pod) {
  if (pod.state != PodState::kReady) return pod;
  ObjectLocks::Held held = d.pod_locks.TryLock(pod.id);
  if (!held) return pod;  // an RPC changing the pod holds its lock
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = PodShim(d, pod);
  absl::StatusOr<task::StateResponse> st =
      shim.ok() ? (*shim)->State(pod.id) : absl::StatusOr<task::StateResponse>(shim.status());
  if (st.ok() && st->status() == containerd::v1::types::RUNNING) return pod;
  d.log.Warn(Cat("pod ", pod.id, " is not ready: ",
                 st.ok() ? std::string("its infra process exited") : st.status().ToString()));
  pod.state = PodState::kNotReady;
  if (absl::Status s = d.pods->Update(pod); !s.ok()) d.log.Warn(s.ToString());
  return pod;
}

absl::Status RecoverPods(Daemon& d) {
  int ready = 0, not_ready = 0;
  for (const PodRecord& p : d.pods->List()) {
    PodRecord now = RefreshPod(d, p);
    if (now.state == PodState::kReady) {
      // CNI CHECK: a pod whose network broke while peapodd was away turns
      // NOTREADY, so the kubelet recreates it instead of keeping a pod that
      // cannot be reached.
      absl::Status check = CheckPodNetwork(d, now);
      if (!check.ok() && !absl::IsUnimplemented(check)) {
        d.log.Warn(Cat("pod ", now.id, " is not ready: CNI CHECK failed: ", check.ToString()));
        now.state = PodState::kNotReady;
        if (absl::Status s = d.pods->Update(now); !s.ok()) d.log.Warn(s.ToString());
      }
    }
    ++(now.state == PodState::kReady ? ready : not_ready);
  }
  d.log.Info(Cat("pods recovered: ", ready, " ready, ", not_ready, " not ready"));
  return absl::OkStatus();
}

Rollback::~Rollback() {
  for (auto it = steps_.rbegin(); it != steps_.rend(); ++it) {
    absl::Status s = it->second();
    if (!s.ok()) log_.Warn(Cat("rollback: ", it->first, ": ", s.ToString()));
  }
}

void Rollback::Push(std::string what, std::function<absl::Status()> undo) {
  steps_.emplace_back(std::move(what), std::move(undo));
}

}  // namespace peapod::cri
