// RPC handlers: plain functions from a request to a response and a status,
// one per file, with no gRPC types in their signatures beyond the messages.
#pragma once

#include "absl/status/status.h"
#include "cri/server/daemon.h"
#include "proto/cri_api.h"

namespace peapod::cri {

// Version: runtime name and versions.
absl::Status HandleVersion(Daemon& d, const ::runtime::v1::VersionRequest& req,
                           ::runtime::v1::VersionResponse& resp);
// Status: RuntimeReady and NetworkReady conditions, plus config when verbose.
absl::Status HandleStatus(Daemon& d, const ::runtime::v1::StatusRequest& req,
                          ::runtime::v1::StatusResponse& resp);
// RuntimeConfig: the cgroup driver (cgroupfs) a kubelet must use with peapod.
absl::Status HandleRuntimeConfig(Daemon& d, const ::runtime::v1::RuntimeConfigRequest& req,
                                 ::runtime::v1::RuntimeConfigResponse& resp);
// UpdateRuntimeConfig: the node's pod CIDRs, checked and logged.
absl::Status HandleUpdateRuntimeConfig(Daemon& d,
                                       const ::runtime::v1::UpdateRuntimeConfigRequest& req,
                                       ::runtime::v1::UpdateRuntimeConfigResponse& resp);
// ListPodSandbox: pods from the store that pass the filter.
absl::Status HandleListPodSandbox(Daemon& d, const ::runtime::v1::ListPodSandboxRequest& req,
                                  ::runtime::v1::ListPodSandboxResponse& resp);
// PodSandboxStatus: one pod by id or id prefix; NotFound if unknown.
absl::Status HandlePodSandboxStatus(Daemon& d, const ::runtime::v1::PodSandboxStatusRequest& req,
                                    ::runtime::v1::PodSandboxStatusResponse& resp);
// RunPodSandbox: record, pod dir, shim, infra process; READY, persisted.
absl::Status HandleRunPodSandbox(Daemon& d, const ::runtime::v1::RunPodSandboxRequest& req,
                                 ::runtime::v1::RunPodSandboxResponse& resp);
// StopPodSandbox: containers and infra killed, NOTREADY; idempotent.
absl::Status HandleStopPodSandbox(Daemon& d, const ::runtime::v1::StopPodSandboxRequest& req,
                                  ::runtime::v1::StopPodSandboxResponse& resp);
// RemovePodSandbox: everything of the pod removed; idempotent.
absl::Status HandleRemovePodSandbox(Daemon& d, const ::runtime::v1::RemovePodSandboxRequest& req,
                                    ::runtime::v1::RemovePodSandboxResponse& resp);
// PodSandboxStats / ListPodSandboxStats: the pod cgroup's cpu, memory and
// processes, its network counters and its containers' stats.
absl::Status HandlePodSandboxStats(Daemon& d, const ::runtime::v1::PodSandboxStatsRequest& req,
                                   ::runtime::v1::PodSandboxStatsResponse& resp);
absl::Status HandleListPodSandboxStats(Daemon& d,
                                       const ::runtime::v1::ListPodSandboxStatsRequest& req,
                                       ::runtime::v1::ListPodSandboxStatsResponse& resp);
// ListContainers: containers from the store that pass the filter.
absl::Status HandleListContainers(Daemon& d, const ::runtime::v1::ListContainersRequest& req,
                                  ::runtime::v1::ListContainersResponse& resp);
// ContainerStatus: one container by id or id prefix; NotFound if unknown.
absl::Status HandleContainerStatus(Daemon& d, const ::runtime::v1::ContainerStatusRequest& req,
                                   ::runtime::v1::ContainerStatusResponse& resp);

// CreateContainer: image, rootfs, config.json, shim Create; record CREATED.
absl::Status HandleCreateContainer(Daemon& d, const ::runtime::v1::CreateContainerRequest& req,
                                   ::runtime::v1::CreateContainerResponse& resp);
// StartContainer: shim Start; RUNNING.
absl::Status HandleStartContainer(Daemon& d, const ::runtime::v1::StartContainerRequest& req,
                                  ::runtime::v1::StartContainerResponse& resp);
// StopContainer: stop signal, SIGKILL at the timeout; idempotent.
absl::Status HandleStopContainer(Daemon& d, const ::runtime::v1::StopContainerRequest& req,
                                 ::runtime::v1::StopContainerResponse& resp);
// RemoveContainer: force-stop and remove everything of it; idempotent.
absl::Status HandleRemoveContainer(Daemon& d, const ::runtime::v1::RemoveContainerRequest& req,
                                   ::runtime::v1::RemoveContainerResponse& resp);
// UpdateContainerResources: new cgroup limits through the shim.
absl::Status HandleUpdateContainerResources(
    Daemon& d, const ::runtime::v1::UpdateContainerResourcesRequest& req,
    ::runtime::v1::UpdateContainerResourcesResponse& resp);
// ReopenContainerLog: the shim reopens the container's CRI log.
absl::Status HandleReopenContainerLog(Daemon& d,
                                      const ::runtime::v1::ReopenContainerLogRequest& req,
                                      ::runtime::v1::ReopenContainerLogResponse& resp);
// ExecSync: runs a command in a running container, output capped at 16 MiB.
// Exec: a single-use streaming URL for a command in a running container.
absl::Status HandleExec(Daemon& d, const ::runtime::v1::ExecRequest& req,
                        ::runtime::v1::ExecResponse& resp);
// Attach: a single-use streaming URL to a running container's own stdio.
absl::Status HandleAttach(Daemon& d, const ::runtime::v1::AttachRequest& req,
                          ::runtime::v1::AttachResponse& resp);
// PortForward: a single-use streaming URL reaching ports of a ready pod.
absl::Status HandlePortForward(Daemon& d, const ::runtime::v1::PortForwardRequest& req,
                               ::runtime::v1::PortForwardResponse& resp);
absl::Status HandleExecSync(Daemon& d, const ::runtime::v1::ExecSyncRequest& req,
                            ::runtime::v1::ExecSyncResponse& resp);
// ContainerStats / ListContainerStats: cpu, memory, writable layer.
absl::Status HandleContainerStats(Daemon& d, const ::runtime::v1::ContainerStatsRequest& req,
                                  ::runtime::v1::ContainerStatsResponse& resp);
absl::Status HandleListContainerStats(Daemon& d,
                                      const ::runtime::v1::ListContainerStatsRequest& req,
                                      ::runtime::v1::ListContainerStatsResponse& resp);

// ListImages: every stored image, or only the one the filter's reference names.
absl::Status HandleListImages(Daemon& d, const ::runtime::v1::ListImagesRequest& req,
                              ::runtime::v1::ListImagesResponse& resp);
// ImageStatus: one image by id, tag or digest; an unknown image is an empty answer.
absl::Status HandleImageStatus(Daemon& d, const ::runtime::v1::ImageStatusRequest& req,
                               ::runtime::v1::ImageStatusResponse& resp);
// PullImage: pulls with the request's credentials; image_ref is the image id.
absl::Status HandlePullImage(Daemon& d, const ::runtime::v1::PullImageRequest& req,
                             ::runtime::v1::PullImageResponse& resp);
// RemoveImage: removes an image and all its names; unknown images are fine.
absl::Status HandleRemoveImage(Daemon& d, const ::runtime::v1::RemoveImageRequest& req,
                               ::runtime::v1::RemoveImageResponse& resp);
// ImageFsInfo: bytes and inodes used by the image store.
absl::Status HandleImageFsInfo(Daemon& d, const ::runtime::v1::ImageFsInfoRequest& req,
                               ::runtime::v1::ImageFsInfoResponse& resp);

}  // namespace peapod::cri
