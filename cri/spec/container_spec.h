// The OCI config.json of a CRI container and of a pod's infra process, as
// containerd or CRI-O would generate them, from the plain inputs in
// container_spec_input.h.
#pragma once

#include <optional>
#include <string>

#include "absl/status/statusor.h"
#include "cri/spec/container_spec_input.h"
#include "oci/spec/spec.h"

namespace peapod::cri::spec {

// What the builder reads from the host; defaults read the real host.
struct HostView {
  std::optional<std::string> mountinfo;  // /proc/self/mountinfo text, read when needed
  std::string dev_dir = "/dev";          // walked for privileged containers
};

// Fills pod.{net,ipc,uts,pid}_ns_path from the infra's pid following the
// pod's namespace options (empty where the pod uses the host's).
void SetPodNamespacePaths(int infra_pid, PodInfo* pod);

// Builds a container's OCI spec: process, mounts, namespaces, security and
// resources, validating every field it uses (InvalidArgument names it).
absl::StatusOr<oci::Spec> BuildContainerSpec(const ContainerSpecInput& in,
                                             const HostView& host = {});

// The OCI linux.resources of CRI resources alone (UpdateContainerResources);
// InvalidArgument names a bad field.
absl::StatusOr<oci::Resources> BuildResources(const ResourcesInput& in);

// Builds the spec of a pod's infra process (peapod-infra as PID 1 of the
// pod's new namespaces, on a read-only tiny root).
absl::StatusOr<oci::Spec> BuildSandboxSpec(const SandboxSpecInput& in);

// The linux.cgroupsPath of `id` under a pod's cgroup parent: "parent:peapod:id"
// for a systemd slice, "parent/id" for cgroupfs, "/peapod/id" when unset.
absl::StatusOr<std::string> CgroupsPath(const std::string& parent, const std::string& id);

// The io.kubernetes.cri.* annotations containerd writes for a container.
std::map<std::string, std::string> CriAnnotations(const ContainerSpecInput& in);

}  // namespace peapod::cri::spec
