// The one translation of CRI protobuf (runtime.v1) into cri/spec's own types.
#pragma once

#include "absl/status/statusor.h"
#include "cri/spec/container_spec_input.h"
#include "proto/cri_api.h"

namespace peapod::cri::spec {

// The pod-level fields of a PodSandboxConfig. Namespace paths, pod files
// and the pod id are the runtime's and left for the caller to fill.
absl::StatusOr<PodInfo> PodInfoFromCri(const ::runtime::v1::PodSandboxConfig& config);

// A ContainerConfig (with its pod's config) as a ContainerSpecInput. The
// caller fills id, image_name, image config, rootfs and the PodInfo fields
// PodInfoFromCri leaves empty.
absl::StatusOr<ContainerSpecInput> ContainerInputFromCri(
    const ::runtime::v1::ContainerConfig& config, const ::runtime::v1::PodSandboxConfig& pod);

// CRI LinuxContainerResources (UpdateContainerResources) as ResourcesInput.
ResourcesInput ResourcesFromCri(const ::runtime::v1::LinuxContainerResources& r);

}  // namespace peapod::cri::spec
