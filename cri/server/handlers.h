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
// ListPodSandbox: pods from the store that pass the filter.
absl::Status HandleListPodSandbox(Daemon& d, const ::runtime::v1::ListPodSandboxRequest& req,
                                  ::runtime::v1::ListPodSandboxResponse& resp);
// PodSandboxStatus: one pod by id or id prefix; NotFound if unknown.
absl::Status HandlePodSandboxStatus(Daemon& d, const ::runtime::v1::PodSandboxStatusRequest& req,
                                    ::runtime::v1::PodSandboxStatusResponse& resp);
// ListContainers: containers from the store that pass the filter.
absl::Status HandleListContainers(Daemon& d, const ::runtime::v1::ListContainersRequest& req,
                                  ::runtime::v1::ListContainersResponse& resp);
// ContainerStatus: one container by id or id prefix; NotFound if unknown.
absl::Status HandleContainerStatus(Daemon& d, const ::runtime::v1::ContainerStatusRequest& req,
                                   ::runtime::v1::ContainerStatusResponse& resp);

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
