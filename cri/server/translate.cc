#include "cri/server/translate.h"

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;

v1::PodSandboxState PodStateToProto(PodState s) {
  return s == PodState::kReady ? v1::SANDBOX_READY : v1::SANDBOX_NOTREADY;
}

v1::ContainerState ContainerStateToProto(ContainerState s) {
  switch (s) {
    case ContainerState::kCreated:
      return v1::CONTAINER_CREATED;
    case ContainerState::kRunning:
      return v1::CONTAINER_RUNNING;
    case ContainerState::kExited:
      return v1::CONTAINER_EXITED;
    case ContainerState::kUnknown:
      return v1::CONTAINER_UNKNOWN;
  }
  return v1::CONTAINER_UNKNOWN;
}

void PodMetadataToProto(const PodMetadata& m, v1::PodSandboxMetadata& out) {
  out.set_name(m.name);
  out.set_uid(m.uid);
  out.set_namespace_(m.namespace_);
  out.set_attempt(m.attempt);
}

void CopyMap(const StringMap& in, google::protobuf::Map<std::string, std::string>& out) {
  out.insert(in.begin(), in.end());
}

bool LabelsMatch(const StringMap& labels,
                 const google::protobuf::Map<std::string, std::string>& selector) {
  for (const auto& [k, v] : selector) {
    auto it = labels.find(k);
    if (it == labels.end() || it->second != v) return false;
  }
  return true;
}

}  // namespace

void PodToProto(const PodRecord& p, v1::PodSandbox& out) {
  out.set_id(p.id);
  PodMetadataToProto(p.metadata, *out.mutable_metadata());
  out.set_state(PodStateToProto(p.state));
  out.set_created_at(p.created_at);
  CopyMap(p.labels, *out.mutable_labels());
  CopyMap(p.annotations, *out.mutable_annotations());
  out.set_runtime_handler(p.runtime_handler);
}

void PodToProto(const PodRecord& p, v1::PodSandboxStatus& out) {
  out.set_id(p.id);
  PodMetadataToProto(p.metadata, *out.mutable_metadata());
  out.set_state(PodStateToProto(p.state));
  out.set_created_at(p.created_at);
  out.mutable_network()->set_ip(p.ip);
  for (const std::string& ip : p.additional_ips) {
    out.mutable_network()->add_additional_ips()->set_ip(ip);
  }
  v1::NamespaceOption& ns = *out.mutable_linux()->mutable_namespaces()->mutable_options();
  ns.set_network(NamespaceModeToProto(p.network_mode));
  ns.set_pid(NamespaceModeToProto(p.pid_mode));
  ns.set_ipc(NamespaceModeToProto(p.ipc_mode));
  CopyMap(p.labels, *out.mutable_labels());
  CopyMap(p.annotations, *out.mutable_annotations());
  out.set_runtime_handler(p.runtime_handler);
}

void ContainerToProto(const ContainerRecord& c, v1::Container& out) {
  out.set_id(c.id);
  out.set_pod_sandbox_id(c.pod_id);
  out.mutable_metadata()->set_name(c.name);
  out.mutable_metadata()->set_attempt(c.attempt);
  out.mutable_image()->set_image(c.image);
  out.set_image_ref(c.image_ref);
  out.set_image_id(c.image_ref);
  out.set_state(ContainerStateToProto(c.state));
  out.set_created_at(c.created_at);
  CopyMap(c.labels, *out.mutable_labels());
  CopyMap(c.annotations, *out.mutable_annotations());
}

void ContainerToProto(const ContainerRecord& c, v1::ContainerStatus& out) {
  out.set_id(c.id);
  out.mutable_metadata()->set_name(c.name);
  out.mutable_metadata()->set_attempt(c.attempt);
  out.set_state(ContainerStateToProto(c.state));
  out.set_created_at(c.created_at);
  out.set_started_at(c.started_at);
  out.set_finished_at(c.finished_at);
  out.set_exit_code(c.exit_code);
  out.mutable_image()->set_image(c.image);
  out.set_image_ref(c.image_ref);
  out.set_image_id(c.image_ref);
  out.set_reason(c.reason);
  out.set_message(c.message);
  CopyMap(c.labels, *out.mutable_labels());
  CopyMap(c.annotations, *out.mutable_annotations());
  out.set_log_path(c.log_path);
}

PodMetadata PodMetadataFromProto(const v1::PodSandboxMetadata& m) {
  return {.name = m.name(), .uid = m.uid(), .namespace_ = m.namespace_(), .attempt = m.attempt()};
}

NamespaceMode NamespaceModeFromProto(v1::NamespaceMode m) {
  switch (m) {
    case v1::POD:
      return NamespaceMode::kPod;
    case v1::CONTAINER:
      return NamespaceMode::kContainer;
    case v1::NODE:
      return NamespaceMode::kNode;
    case v1::TARGET:
      return NamespaceMode::kTarget;
    default:
      return NamespaceMode::kPod;
  }
}

v1::NamespaceMode NamespaceModeToProto(NamespaceMode m) {
  switch (m) {
    case NamespaceMode::kPod:
      return v1::POD;
    case NamespaceMode::kContainer:
      return v1::CONTAINER;
    case NamespaceMode::kNode:
      return v1::NODE;
    case NamespaceMode::kTarget:
      return v1::TARGET;
  }
  return v1::POD;
}

bool PodMatches(const PodRecord& p, const v1::PodSandboxFilter& f) {
  if (!f.id().empty() && !p.id.starts_with(f.id())) return false;
  if (f.has_state() && f.state().state() != PodStateToProto(p.state)) return false;
  return LabelsMatch(p.labels, f.label_selector());
}

bool ContainerMatches(const ContainerRecord& c, const v1::ContainerFilter& f) {
  if (!f.id().empty() && !c.id.starts_with(f.id())) return false;
  if (!f.pod_sandbox_id().empty() && !c.pod_id.starts_with(f.pod_sandbox_id())) return false;
  if (f.has_state() && f.state().state() != ContainerStateToProto(c.state)) return false;
  return LabelsMatch(c.labels, f.label_selector());
}

}  // namespace peapod::cri
