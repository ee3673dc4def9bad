// UpdateContainerResources: new cgroup limits through the shim (OCI
// LinuxResources JSON), mirrored into config.json so execs and restarts see
// the same limits.
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/spec/container_spec.h"
#include "cri/spec/from_cri.h"
#include "cri/store/record_file.h"
#include "cri/util/str.h"
#include "oci/linux/file_util.h"
#include "oci/spec/spec.h"

namespace peapod::cri {

absl::Status HandleUpdateContainerResources(
    Daemon& d, const ::runtime::v1::UpdateContainerResourcesRequest& req,
    ::runtime::v1::UpdateContainerResourcesResponse&) {
  absl::StatusOr<LockedContainer> locked = LockContainer(d, req.container_id());
  if (!locked.ok()) return locked.status();
  std::optional<ContainerRecord> c = std::move(locked->record);
  if (c->state != ContainerState::kCreated && c->state != ContainerState::kRunning) {
    return absl::FailedPreconditionError(
        Cat("container ", c->id, " is neither created nor running: nothing to update"));
  }
  if (!req.has_linux()) return absl::OkStatus();  // Windows resources only: nothing for us.
  absl::StatusOr<oci::Resources> res = spec::BuildResources(spec::ResourcesFromCri(req.linux()));
  if (!res.ok()) return res.status();
  // oom_score_adj is fixed at create time (a kubelet resends the old value).
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  if (!shim.ok()) return shim.status();
  task::UpdateTaskRequest update;
  update.set_id(c->id);
  update.mutable_resources()->set_type_url(
      "types.containerd.io/opencontainers/runtime-spec/1/LinuxResources");
  update.mutable_resources()->set_value(oci::SerializeResources(*res));
  if (absl::Status s = (*shim)->Update(update); !s.ok()) return s;
  std::string bundle = ContainerBundleDir(d, c->id);
  absl::StatusOr<oci::Spec> spec = oci::LoadSpec(bundle + "/config.json");
  if (!spec.ok()) return spec.status();
  if (spec->linux) {
    oci::Resources merged = spec->linux->resources.value_or(oci::Resources{});
    if (res->memory) merged.memory = res->memory;
    if (res->cpu) merged.cpu = res->cpu;
    if (!res->hugepage_limits.empty()) merged.hugepage_limits = res->hugepage_limits;
    if (!res->unified.empty()) merged.unified = res->unified;
    spec->linux->resources = std::move(merged);
  }
  return linux::ReplaceFile(bundle + "/config.json", oci::SerializeSpec(*spec, true));
}

}  // namespace peapod::cri
