// BuildSandboxSpec: the config.json of a pod's infra process.
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "cri/spec/container_spec.h"
#include "cri/spec/spec_mounts.h"
#include "cri/spec/spec_rules.h"

namespace peapod::cri::spec {
namespace {

inline constexpr char kInfraPath[] = "/peapod-infra";

// New net/ipc/uts namespaces unless the pod uses the host's (the network one
// joined by path when made beforehand); a new pid namespace (infra as PID 1)
// unless the pod uses the host's, as containerd does for its pause
// container; always a new mount namespace.
std::vector<oci::Namespace> SandboxNamespaces(const NamespaceOptions& ns,
                                              const std::string& netns_path) {
  std::vector<oci::Namespace> out;
  if (ns.pid != NamespaceMode::kNode) out.push_back({"pid", ""});
  if (ns.ipc != NamespaceMode::kNode) out.push_back({"ipc", ""});
  if (ns.network != NamespaceMode::kNode) out.push_back({"uts", ""});
  out.push_back({"mount", ""});
  if (ns.network != NamespaceMode::kNode) out.push_back({"network", netns_path});
  return out;
}

absl::Status CheckSandboxInput(const SandboxSpecInput& in) {
  if (in.pod.id.empty()) return absl::InvalidArgumentError("pod.id: empty");
  if (in.rootfs_path.empty()) return absl::InvalidArgumentError("rootfs_path: empty");
  if (in.infra_binary.empty() || in.infra_binary[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("infra_binary: \"", in.infra_binary, "\" is not an absolute path"));
  }
  for (const std::string& t : {std::string("pid"), std::string("ipc"), std::string("network")}) {
    const NamespaceOptions& ns = in.pod.namespaces;
    NamespaceMode m = t == "pid" ? ns.pid : t == "ipc" ? ns.ipc : ns.network;
    if (m == NamespaceMode::kTarget) {
      return absl::InvalidArgumentError(
          absl::StrCat("namespace_options.", t, ": TARGET is not valid for a pod"));
    }
  }
  if (!in.netns_path.empty() && in.netns_path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("netns_path: \"", in.netns_path, "\" is not an absolute path"));
  }
  if (in.oom_score_adj && (*in.oom_score_adj < -1000 || *in.oom_score_adj > 1000)) {
    return absl::InvalidArgumentError("oom_score_adj: outside [-1000, 1000]");
  }
  return ValidateSysctls(in.pod.sysctls, in.pod.namespaces.network, in.pod.namespaces.ipc);
}

absl::StatusOr<oci::User> SandboxUser(const PodInfo& pod) {
  oci::User user;
  for (auto [v, field, out] : {std::tuple{pod.run_as_user, "run_as_user", &user.uid},
                               std::tuple{pod.run_as_group, "run_as_group", &user.gid}}) {
    if (!v) continue;
    if (*v < 0 || *v >= (int64_t{1} << 31)) {
      return absl::InvalidArgumentError(
          absl::StrCat(field, ": id ", *v, " is outside [0, 2147483647]"));
    }
    *out = static_cast<uint32_t>(*v);
  }
  if (pod.run_as_group && !pod.run_as_user) {
    return absl::InvalidArgumentError("run_as_group: set without run_as_user");
  }
  return user;
}

}  // namespace

absl::StatusOr<oci::Spec> BuildSandboxSpec(const SandboxSpecInput& in) {
  if (absl::Status s = CheckSandboxInput(in); !s.ok()) return s;
  const PodInfo& pod = in.pod;
  oci::Spec spec;
  spec.oci_version = std::string(oci::kOciVersion);
  spec.hostname = pod.namespaces.network == NamespaceMode::kNode ? "" : pod.hostname;
  spec.root = {in.rootfs_path, true};
  // 1. The process: peapod-infra, no capabilities, no new privileges.
  oci::Process& p = spec.process.emplace();
  p.args = {kInfraPath};
  p.env = {kDefaultPath};
  p.cwd = "/";
  absl::StatusOr<oci::User> user = SandboxUser(pod);
  if (!user.ok()) return user.status();
  p.user = *user;
  p.capabilities = oci::Capabilities{};
  p.no_new_privileges = true;
  p.oom_score_adj = in.oom_score_adj;
  // 2. A read-only root holding only the infra binary, plus /proc and /dev.
  spec.mounts = {
      {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}, {}, {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}, {}},
      {kInfraPath, "bind", in.infra_binary, {"rbind", "rprivate", "ro"}, {}, {}}};
  // 3. Namespaces, cgroup, sysctls, seccomp.
  oci::Linux& linux = spec.linux.emplace();
  linux.namespaces = SandboxNamespaces(pod.namespaces, in.netns_path);
  absl::StatusOr<std::string> cgroups = CgroupsPath(pod.cgroup_parent, pod.id);
  if (!cgroups.ok()) return cgroups.status();
  linux.cgroups_path = *cgroups;
  linux.sysctl = pod.sysctls;
  linux.resources.emplace();
  linux.resources->devices.push_back({false, "", std::nullopt, std::nullopt, "rwm"});
  if (!pod.privileged) {
    absl::StatusOr<std::optional<oci::Seccomp>> sc = ResolveSeccomp(pod.seccomp, {});
    if (!sc.ok()) return sc.status();
    linux.seccomp = *std::move(sc);
    linux.masked_paths = DefaultMaskedPaths();
    linux.readonly_paths = DefaultReadonlyPaths();
  }
  spec.annotations = {{"io.kubernetes.cri.container-type", "sandbox"},
                      {"io.kubernetes.cri.sandbox-id", pod.id},
                      {"io.kubernetes.cri.sandbox-name", pod.name},
                      {"io.kubernetes.cri.sandbox-namespace", pod.kube_namespace},
                      {"io.kubernetes.cri.sandbox-uid", pod.uid},
                      {"io.kubernetes.cri.sandbox-log-directory", pod.log_directory}};
  return spec;
}

}  // namespace peapod::cri::spec
