#include "cri/spec/from_cri.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cri/spec/spec_rules.h"

// seccomp_profile_path is deprecated in CRI but still sent by older kubelets.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace peapod::cri::spec {
namespace {

namespace v1 = ::runtime::v1;

absl::StatusOr<NamespaceMode> Mode(v1::NamespaceMode m, const char* field) {
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
      return absl::InvalidArgumentError(
          absl::StrCat("namespace_options.", field, ": unknown mode ", static_cast<int>(m)));
  }
}

absl::StatusOr<NamespaceOptions> Namespaces(const v1::NamespaceOption& o) {
  NamespaceOptions out;
  absl::StatusOr<NamespaceMode> net = Mode(o.network(), "network");
  absl::StatusOr<NamespaceMode> pid = Mode(o.pid(), "pid");
  absl::StatusOr<NamespaceMode> ipc = Mode(o.ipc(), "ipc");
  for (const auto* s : {&net, &pid, &ipc}) {
    if (!s->ok()) return s->status();
  }
  out.network = *net;
  out.pid = *pid;
  out.ipc = *ipc;
  if (o.has_userns_options() && o.userns_options().mode() != v1::NODE) {
    return absl::InvalidArgumentError(
        "namespace_options.userns_options: user namespaces are not supported");
  }
  return out;
}

// The typed `seccomp` field wins; else the legacy seccomp_profile_path.
absl::StatusOr<SeccompChoice> Seccomp(bool has_profile, const v1::SecurityProfile& profile,
                                      const std::string& legacy_path) {
  if (!has_profile) return ParseLegacySeccompPath(legacy_path);
  switch (profile.profile_type()) {
    case v1::SecurityProfile::RuntimeDefault:
      return SeccompChoice{SeccompKind::kRuntimeDefault, ""};
    case v1::SecurityProfile::Unconfined:
      return SeccompChoice{SeccompKind::kUnconfined, ""};
    case v1::SecurityProfile::Localhost:
      if (profile.localhost_ref().empty() || profile.localhost_ref()[0] != '/') {
        return absl::InvalidArgumentError(absl::StrCat(
            "seccomp.localhost_ref: \"", profile.localhost_ref(), "\" is not an absolute path"));
      }
      return SeccompChoice{SeccompKind::kLocalhost, profile.localhost_ref()};
    default:
      return absl::InvalidArgumentError("seccomp.profile_type: unknown");
  }
}

absl::StatusOr<Propagation> MountPropagation(v1::MountPropagation p) {
  switch (p) {
    case v1::PROPAGATION_PRIVATE:
      return Propagation::kPrivate;
    case v1::PROPAGATION_HOST_TO_CONTAINER:
      return Propagation::kHostToContainer;
    case v1::PROPAGATION_BIDIRECTIONAL:
      return Propagation::kBidirectional;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("mounts.propagation: unknown value ", static_cast<int>(p)));
  }
}

absl::Status Security(const v1::LinuxContainerSecurityContext& sc, SecurityInput* out) {
  out->privileged = sc.privileged();
  out->capabilities.add.assign(sc.capabilities().add_capabilities().begin(),
                               sc.capabilities().add_capabilities().end());
  out->capabilities.drop.assign(sc.capabilities().drop_capabilities().begin(),
                                sc.capabilities().drop_capabilities().end());
  if (sc.has_run_as_user()) out->run_as_user = sc.run_as_user().value();
  out->run_as_username = sc.run_as_username();
  if (sc.has_run_as_group()) out->run_as_group = sc.run_as_group().value();
  out->supplemental_groups.assign(sc.supplemental_groups().begin(), sc.supplemental_groups().end());
  out->readonly_rootfs = sc.readonly_rootfs();
  out->no_new_privs = sc.no_new_privs();
  out->masked_paths.assign(sc.masked_paths().begin(), sc.masked_paths().end());
  out->readonly_paths.assign(sc.readonly_paths().begin(), sc.readonly_paths().end());
  absl::StatusOr<SeccompChoice> seccomp =
      Seccomp(sc.has_seccomp(), sc.seccomp(), sc.seccomp_profile_path());
  if (!seccomp.ok()) return seccomp.status();
  out->seccomp = *seccomp;
  absl::StatusOr<NamespaceOptions> ns = Namespaces(sc.namespace_options());
  if (!ns.ok()) return ns.status();
  out->namespaces = *ns;
  return absl::OkStatus();
}

ResourcesInput Resources(const v1::LinuxContainerResources& r) {
  ResourcesInput out;
  out.cpu_period = r.cpu_period();
  out.cpu_quota = r.cpu_quota();
  out.cpu_shares = r.cpu_shares();
  out.memory_limit_in_bytes = r.memory_limit_in_bytes();
  out.memory_swap_limit_in_bytes = r.memory_swap_limit_in_bytes();
  out.oom_score_adj = r.oom_score_adj();
  out.cpuset_cpus = r.cpuset_cpus();
  out.cpuset_mems = r.cpuset_mems();
  for (const v1::HugepageLimit& h : r.hugepage_limits()) {
    out.hugepage_limits.push_back({h.page_size(), h.limit()});
  }
  out.unified.insert(r.unified().begin(), r.unified().end());
  return out;
}

absl::Status MountsAndDevices(const v1::ContainerConfig& c, ContainerSpecInput* out) {
  for (const v1::Mount& m : c.mounts()) {
    if (m.has_image() && !m.image().image().empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("mounts.image: image volumes are not supported (", m.container_path(), ")"));
    }
    absl::StatusOr<Propagation> p = MountPropagation(m.propagation());
    if (!p.ok()) return p.status();
    out->mounts.push_back(
        {m.container_path(), m.host_path(), m.readonly(), m.selinux_relabel(), *p});
  }
  for (const v1::Device& d : c.devices()) {
    out->devices.push_back(
        {d.container_path(), d.host_path(), d.permissions().empty() ? "rwm" : d.permissions()});
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PodInfo> PodInfoFromCri(const v1::PodSandboxConfig& config) {
  PodInfo pod;
  pod.name = config.metadata().name();
  pod.kube_namespace = config.metadata().namespace_();
  pod.uid = config.metadata().uid();
  pod.attempt = config.metadata().attempt();
  pod.hostname = config.hostname();
  pod.log_directory = config.log_directory();
  const v1::LinuxPodSandboxConfig& linux = config.linux();
  pod.cgroup_parent = linux.cgroup_parent();
  pod.sysctls.insert(linux.sysctls().begin(), linux.sysctls().end());
  const v1::LinuxSandboxSecurityContext& sc = linux.security_context();
  pod.privileged = sc.privileged();
  absl::StatusOr<NamespaceOptions> ns = Namespaces(sc.namespace_options());
  if (!ns.ok()) return ns.status();
  pod.namespaces = *ns;
  if (sc.has_run_as_user()) pod.run_as_user = sc.run_as_user().value();
  if (sc.has_run_as_group()) pod.run_as_group = sc.run_as_group().value();
  pod.readonly_rootfs = sc.readonly_rootfs();
  absl::StatusOr<SeccompChoice> seccomp =
      Seccomp(sc.has_seccomp(), sc.seccomp(), sc.seccomp_profile_path());
  if (!seccomp.ok()) return seccomp.status();
  pod.seccomp = *seccomp;
  return pod;
}

ResourcesInput ResourcesFromCri(const v1::LinuxContainerResources& r) { return Resources(r); }

absl::StatusOr<ContainerSpecInput> ContainerInputFromCri(const v1::ContainerConfig& config,
                                                         const v1::PodSandboxConfig& pod) {
  ContainerSpecInput in;
  absl::StatusOr<PodInfo> info = PodInfoFromCri(pod);
  if (!info.ok()) return info.status();
  in.pod = *std::move(info);
  in.name = config.metadata().name();
  in.attempt = config.metadata().attempt();
  in.command.assign(config.command().begin(), config.command().end());
  in.args.assign(config.args().begin(), config.args().end());
  in.working_dir = config.working_dir();
  for (const v1::KeyValue& kv : config.envs()) in.envs.emplace_back(kv.key(), kv.value());
  if (absl::Status s = MountsAndDevices(config, &in); !s.ok()) return s;
  in.labels.insert(config.labels().begin(), config.labels().end());
  in.annotations.insert(config.annotations().begin(), config.annotations().end());
  in.log_path = config.log_path();
  in.stdin = config.stdin();
  in.stdin_once = config.stdin_once();
  in.tty = config.tty();
  if (absl::Status s = Security(config.linux().security_context(), &in.security); !s.ok()) {
    return s;
  }
  in.resources = Resources(config.linux().resources());
  return in;
}

}  // namespace peapod::cri::spec
