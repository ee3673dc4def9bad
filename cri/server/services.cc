// Method → handler wiring for RuntimeService and ImageService.
#include "cri/server/services.h"
#include "cri/server/handlers.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

absl::Status NotImplemented(std::string_view method) {
  return absl::UnimplementedError(Cat(method, " is not implemented by peapod yet"));
}

}  // namespace

grpc::Status RuntimeService::Version(grpc::ServerContext*, const v1::VersionRequest* req,
                                     v1::VersionResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/Version", RpcEdge::Gate::kAlways,
                   [&] { return HandleVersion(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::RunPodSandbox(grpc::ServerContext*,
                                           const v1::RunPodSandboxRequest* req,
                                           v1::RunPodSandboxResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/RunPodSandbox", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleRunPodSandbox(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::StopPodSandbox(grpc::ServerContext*,
                                            const v1::StopPodSandboxRequest* req,
                                            v1::StopPodSandboxResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/StopPodSandbox", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleStopPodSandbox(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::RemovePodSandbox(grpc::ServerContext*,
                                              const v1::RemovePodSandboxRequest* req,
                                              v1::RemovePodSandboxResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/RemovePodSandbox", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleRemovePodSandbox(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::PodSandboxStatus(grpc::ServerContext*,
                                              const v1::PodSandboxStatusRequest* req,
                                              v1::PodSandboxStatusResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/PodSandboxStatus", RpcEdge::Gate::kWhenReady,
                   [&] { return HandlePodSandboxStatus(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::ListPodSandbox(grpc::ServerContext*,
                                            const v1::ListPodSandboxRequest* req,
                                            v1::ListPodSandboxResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/ListPodSandbox", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleListPodSandbox(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::StreamPodSandboxes(
    grpc::ServerContext*, const v1::StreamPodSandboxesRequest*,
    grpc::ServerWriter<v1::StreamPodSandboxesResponse>*) {
  return edge_.Run("/runtime.v1.RuntimeService/StreamPodSandboxes", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("StreamPodSandboxes"); });
}

grpc::Status RuntimeService::CreateContainer(grpc::ServerContext*,
                                             const v1::CreateContainerRequest* req,
                                             v1::CreateContainerResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/CreateContainer", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleCreateContainer(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::StartContainer(grpc::ServerContext*,
                                            const v1::StartContainerRequest* req,
                                            v1::StartContainerResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/StartContainer", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleStartContainer(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::StopContainer(grpc::ServerContext*,
                                           const v1::StopContainerRequest* req,
                                           v1::StopContainerResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/StopContainer", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleStopContainer(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::RemoveContainer(grpc::ServerContext*,
                                             const v1::RemoveContainerRequest* req,
                                             v1::RemoveContainerResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/RemoveContainer", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleRemoveContainer(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::ListContainers(grpc::ServerContext*,
                                            const v1::ListContainersRequest* req,
                                            v1::ListContainersResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/ListContainers", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleListContainers(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::StreamContainers(grpc::ServerContext*,
                                              const v1::StreamContainersRequest*,
                                              grpc::ServerWriter<v1::StreamContainersResponse>*) {
  return edge_.Run("/runtime.v1.RuntimeService/StreamContainers", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("StreamContainers"); });
}

grpc::Status RuntimeService::ContainerStatus(grpc::ServerContext*,
                                             const v1::ContainerStatusRequest* req,
                                             v1::ContainerStatusResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/ContainerStatus", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleContainerStatus(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::UpdateContainerResources(
    grpc::ServerContext*, const v1::UpdateContainerResourcesRequest* req,
    v1::UpdateContainerResourcesResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/UpdateContainerResources", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleUpdateContainerResources(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::ReopenContainerLog(grpc::ServerContext*,
                                                const v1::ReopenContainerLogRequest* req,
                                                v1::ReopenContainerLogResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/ReopenContainerLog", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleReopenContainerLog(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::ExecSync(grpc::ServerContext*, const v1::ExecSyncRequest* req,
                                      v1::ExecSyncResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/ExecSync", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleExecSync(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::Exec(grpc::ServerContext*, const v1::ExecRequest* req,
                                  v1::ExecResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/Exec", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleExec(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::Attach(grpc::ServerContext*, const v1::AttachRequest* req,
                                    v1::AttachResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/Attach", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleAttach(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::PortForward(grpc::ServerContext*, const v1::PortForwardRequest* req,
                                         v1::PortForwardResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/PortForward", RpcEdge::Gate::kWhenReady,
                   [&] { return HandlePortForward(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::ContainerStats(grpc::ServerContext*,
                                            const v1::ContainerStatsRequest* req,
                                            v1::ContainerStatsResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/ContainerStats", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleContainerStats(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::ListContainerStats(grpc::ServerContext*,
                                                const v1::ListContainerStatsRequest* req,
                                                v1::ListContainerStatsResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/ListContainerStats", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleListContainerStats(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::StreamContainerStats(
    grpc::ServerContext*, const v1::StreamContainerStatsRequest*,
    grpc::ServerWriter<v1::StreamContainerStatsResponse>*) {
  return edge_.Run("/runtime.v1.RuntimeService/StreamContainerStats", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("StreamContainerStats"); });
}

grpc::Status RuntimeService::PodSandboxStats(grpc::ServerContext*,
                                             const v1::PodSandboxStatsRequest* req,
                                             v1::PodSandboxStatsResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/PodSandboxStats", RpcEdge::Gate::kWhenReady,
                   [&] { return HandlePodSandboxStats(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::ListPodSandboxStats(grpc::ServerContext*,
                                                 const v1::ListPodSandboxStatsRequest* req,
                                                 v1::ListPodSandboxStatsResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/ListPodSandboxStats", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleListPodSandboxStats(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::StreamPodSandboxStats(
    grpc::ServerContext*, const v1::StreamPodSandboxStatsRequest*,
    grpc::ServerWriter<v1::StreamPodSandboxStatsResponse>*) {
  return edge_.Run("/runtime.v1.RuntimeService/StreamPodSandboxStats", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("StreamPodSandboxStats"); });
}

grpc::Status RuntimeService::UpdateRuntimeConfig(grpc::ServerContext*,
                                                 const v1::UpdateRuntimeConfigRequest* req,
                                                 v1::UpdateRuntimeConfigResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/UpdateRuntimeConfig", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleUpdateRuntimeConfig(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::Status(grpc::ServerContext*, const v1::StatusRequest* req,
                                    v1::StatusResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/Status", RpcEdge::Gate::kAlways,
                   [&] { return HandleStatus(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::CheckpointContainer(grpc::ServerContext*,
                                                 const v1::CheckpointContainerRequest*,
                                                 v1::CheckpointContainerResponse*) {
  return edge_.Run("/runtime.v1.RuntimeService/CheckpointContainer", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("CheckpointContainer"); });
}

grpc::Status RuntimeService::GetContainerEvents(grpc::ServerContext*, const v1::GetEventsRequest*,
                                                grpc::ServerWriter<v1::ContainerEventResponse>*) {
  return edge_.Run("/runtime.v1.RuntimeService/GetContainerEvents", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("GetContainerEvents"); });
}

grpc::Status RuntimeService::ListMetricDescriptors(grpc::ServerContext*,
                                                   const v1::ListMetricDescriptorsRequest*,
                                                   v1::ListMetricDescriptorsResponse*) {
  return edge_.Run("/runtime.v1.RuntimeService/ListMetricDescriptors", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("ListMetricDescriptors"); });
}

grpc::Status RuntimeService::ListPodSandboxMetrics(grpc::ServerContext*,
                                                   const v1::ListPodSandboxMetricsRequest*,
                                                   v1::ListPodSandboxMetricsResponse*) {
  return edge_.Run("/runtime.v1.RuntimeService/ListPodSandboxMetrics", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("ListPodSandboxMetrics"); });
}

grpc::Status RuntimeService::StreamPodSandboxMetrics(
    grpc::ServerContext*, const v1::StreamPodSandboxMetricsRequest*,
    grpc::ServerWriter<v1::StreamPodSandboxMetricsResponse>*) {
  return edge_.Run("/runtime.v1.RuntimeService/StreamPodSandboxMetrics", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("StreamPodSandboxMetrics"); });
}

grpc::Status RuntimeService::RuntimeConfig(grpc::ServerContext*,
                                           const v1::RuntimeConfigRequest* req,
                                           v1::RuntimeConfigResponse* resp) {
  return edge_.Run("/runtime.v1.RuntimeService/RuntimeConfig", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleRuntimeConfig(daemon_, *req, *resp); });
}

grpc::Status RuntimeService::UpdatePodSandboxResources(grpc::ServerContext*,
                                                       const v1::UpdatePodSandboxResourcesRequest*,
                                                       v1::UpdatePodSandboxResourcesResponse*) {
  return edge_.Run("/runtime.v1.RuntimeService/UpdatePodSandboxResources",
                   RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("UpdatePodSandboxResources"); });
}

grpc::Status ImageService::ListImages(grpc::ServerContext*, const v1::ListImagesRequest* req,
                                      v1::ListImagesResponse* resp) {
  return edge_.Run("/runtime.v1.ImageService/ListImages", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleListImages(daemon_, *req, *resp); });
}

grpc::Status ImageService::StreamImages(grpc::ServerContext*, const v1::StreamImagesRequest*,
                                        grpc::ServerWriter<v1::StreamImagesResponse>*) {
  return edge_.Run("/runtime.v1.ImageService/StreamImages", RpcEdge::Gate::kWhenReady,
                   [&] { return NotImplemented("StreamImages"); });
}

grpc::Status ImageService::ImageStatus(grpc::ServerContext*, const v1::ImageStatusRequest* req,
                                       v1::ImageStatusResponse* resp) {
  return edge_.Run("/runtime.v1.ImageService/ImageStatus", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleImageStatus(daemon_, *req, *resp); });
}

grpc::Status ImageService::PullImage(grpc::ServerContext*, const v1::PullImageRequest* req,
                                     v1::PullImageResponse* resp) {
  return edge_.Run("/runtime.v1.ImageService/PullImage", RpcEdge::Gate::kWhenReady,
                   [&] { return HandlePullImage(daemon_, *req, *resp); });
}

grpc::Status ImageService::RemoveImage(grpc::ServerContext*, const v1::RemoveImageRequest* req,
                                       v1::RemoveImageResponse* resp) {
  return edge_.Run("/runtime.v1.ImageService/RemoveImage", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleRemoveImage(daemon_, *req, *resp); });
}

grpc::Status ImageService::ImageFsInfo(grpc::ServerContext*, const v1::ImageFsInfoRequest* req,
                                       v1::ImageFsInfoResponse* resp) {
  return edge_.Run("/runtime.v1.ImageService/ImageFsInfo", RpcEdge::Gate::kWhenReady,
                   [&] { return HandleImageFsInfo(daemon_, *req, *resp); });
}

}  // namespace peapod::cri
