// BuildContainerSpec: a CRI container's config.json.
#include <unistd.h>

#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cri/spec/container_spec.h"
#include "cri/spec/spec_mounts.h"
#include "cri/spec/spec_rules.h"
#include "cri/spec/user_resolve.h"

#define CRI_SPEC_RETURN_IF_ERROR(expr)                    \
  do {                                                    \
    if (absl::Status _st = (expr); !_st.ok()) return _st; \
  } while (0)

namespace peapod::cri::spec {
namespace {

std::string HostHostname() {
  char buf[256] = {};
  if (gethostname(buf, sizeof buf - 1) != 0) return "";
  return buf;
}

absl::StatusOr<std::string> ReadMountinfo(const HostView& host) {
  if (host.mountinfo) return *host.mountinfo;
  std::ifstream in("/proc/self/mountinfo");
  if (!in) return absl::InternalError("cannot read /proc/self/mountinfo");
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One namespace entry: joined by path, or new when the path is empty.
absl::Status AddNamespace(const char* type, NamespaceMode mode, const std::string& pod_path,
                          const std::string& target_path, std::vector<oci::Namespace>* out) {
  switch (mode) {
    case NamespaceMode::kNode:
      return absl::OkStatus();
    case NamespaceMode::kContainer:
      out->push_back({type, ""});
      return absl::OkStatus();
    case NamespaceMode::kPod:
      if (pod_path.empty()) {
        return absl::FailedPreconditionError(
            absl::StrCat("namespace_options: the pod has no ", type, " namespace to join"));
      }
      out->push_back({type, pod_path});
      return absl::OkStatus();
    case NamespaceMode::kTarget:
      if (target_path.empty()) {
        return absl::InvalidArgumentError(
            absl::StrCat("namespace_options.", type, ": TARGET without a target container"));
      }
      out->push_back({type, target_path});
      return absl::OkStatus();
  }
  return absl::InvalidArgumentError("namespace_options: unknown mode");
}

absl::StatusOr<std::vector<oci::Namespace>> ContainerNamespaces(const ContainerSpecInput& in) {
  const NamespaceOptions& ns = in.security.namespaces;
  const PodInfo& pod = in.pod;
  if (ns.network == NamespaceMode::kTarget || ns.ipc == NamespaceMode::kTarget) {
    return absl::InvalidArgumentError("namespace_options: TARGET is only valid for pid");
  }
  std::vector<oci::Namespace> out;
  CRI_SPEC_RETURN_IF_ERROR(
      AddNamespace("pid", ns.pid, pod.pid_ns_path, ns.target_pid_ns_path, &out));
  CRI_SPEC_RETURN_IF_ERROR(AddNamespace("ipc", ns.ipc, pod.ipc_ns_path, "", &out));
  // UTS follows the network: the host's with host network, else the pod's.
  NamespaceMode uts =
      ns.network == NamespaceMode::kNode ? NamespaceMode::kNode : NamespaceMode::kPod;
  CRI_SPEC_RETURN_IF_ERROR(AddNamespace("uts", uts, pod.uts_ns_path, "", &out));
  out.push_back({"mount", ""});
  CRI_SPEC_RETURN_IF_ERROR(AddNamespace("network", ns.network, pod.net_ns_path, "", &out));
  return out;
}

absl::Status FillProcess(const ContainerSpecInput& in, const std::string& hostname,
                         oci::Process* p) {
  absl::StatusOr<std::vector<std::string>> args = ProcessArgs(in.command, in.args, in.image);
  if (!args.ok()) return args.status();
  p->args = *std::move(args);
  absl::StatusOr<ResolvedUser> user = ResolveUser(in.rootfs_path, in.security, in.image.user);
  if (!user.ok()) return user.status();
  p->user.uid = user->uid;
  p->user.gid = user->gid;
  p->user.additional_gids = user->additional_gids;
  std::vector<std::string> base = {absl::StrCat("HOSTNAME=", hostname)};
  base.insert(base.end(), in.image.env.begin(), in.image.env.end());
  if (in.tty) base.push_back("TERM=xterm");
  absl::StatusOr<std::vector<std::string>> env = MergeEnv(base, in.envs);
  if (!env.ok()) return env.status();
  p->env = *std::move(env);
  if (std::none_of(p->env.begin(), p->env.end(),
                   [](const std::string& e) { return absl::StartsWith(e, "HOME="); })) {
    p->env.push_back(absl::StrCat("HOME=", user->home.empty() ? "/" : user->home));
  }
  std::string cwd = !in.working_dir.empty()         ? in.working_dir
                    : !in.image.working_dir.empty() ? in.image.working_dir
                                                    : "/";
  absl::StatusOr<std::string> clean = CleanAbsolute(cwd, "working_dir");
  if (!clean.ok()) return clean.status();
  p->cwd = *clean;
  p->terminal = in.tty;
  p->no_new_privileges = in.security.no_new_privs;
  if (in.resources.oom_score_adj < -1000 || in.resources.oom_score_adj > 1000) {
    return absl::InvalidArgumentError(absl::StrCat(
        "resources.oom_score_adj: ", in.resources.oom_score_adj, " is outside [-1000, 1000]"));
  }
  p->oom_score_adj = static_cast<int>(in.resources.oom_score_adj);
  return absl::OkStatus();
}

absl::Status FillCapabilities(const ContainerSpecInput& in, oci::Process* p) {
  std::vector<std::string> caps;
  if (in.security.privileged) {
    caps = AllCapabilities();
  } else {
    absl::StatusOr<std::vector<std::string>> c = ApplyCapabilities(in.security.capabilities);
    if (!c.ok()) return c.status();
    caps = *std::move(c);
  }
  p->capabilities = oci::Capabilities{caps, caps, {}, caps, {}};
  return absl::OkStatus();
}

absl::Status FillMounts(const ContainerSpecInput& in, const HostView& host, oci::Spec* spec) {
  std::vector<std::string> dests;
  std::vector<oci::Mount> user;
  std::optional<std::string> mountinfo;
  for (const MountInput& m : in.mounts) {
    if (!mountinfo && m.propagation != Propagation::kPrivate) {
      absl::StatusOr<std::string> text = ReadMountinfo(host);
      if (!text.ok()) return text.status();
      mountinfo = *std::move(text);
    }
    absl::StatusOr<oci::Mount> mount =
        UserMount(m, mountinfo.value_or(""), &spec->linux->rootfs_propagation);
    if (!mount.ok()) return mount.status();
    dests.push_back(mount->destination);
    user.push_back(*std::move(mount));
  }
  auto taken = [&dests](const std::string& d) {
    return std::find(dests.begin(), dests.end(), d) != dests.end();
  };
  for (oci::Mount& m : DefaultMounts(in.security.privileged)) {
    if (!taken(m.destination)) spec->mounts.push_back(std::move(m));
  }
  if (!taken("/dev/shm")) spec->mounts.push_back(ShmMount(in.pod, in.security.namespaces.ipc));
  for (oci::Mount& m : PodFileMounts(in.pod, in.security.readonly_rootfs, dests)) {
    spec->mounts.push_back(std::move(m));
  }
  for (oci::Mount& m : user) spec->mounts.push_back(std::move(m));
  return absl::OkStatus();
}

absl::Status FillResources(const ResourcesInput& r, oci::Resources* out) {
  if (r.memory_limit_in_bytes < 0 || r.memory_swap_limit_in_bytes < 0 || r.cpu_shares < 0 ||
      r.cpu_period < 0) {
    return absl::InvalidArgumentError(
        "resources: memory_limit_in_bytes, memory_swap_limit_in_bytes, cpu_shares and cpu_period "
        "must not be negative");
  }
  if (r.memory_limit_in_bytes > 0 || r.memory_swap_limit_in_bytes > 0) {
    out->memory.emplace();
    if (r.memory_limit_in_bytes > 0) out->memory->limit = r.memory_limit_in_bytes;
    if (r.memory_swap_limit_in_bytes > 0) out->memory->swap = r.memory_swap_limit_in_bytes;
  }
  oci::Cpu cpu;
  if (r.cpu_shares > 0) cpu.shares = static_cast<uint64_t>(r.cpu_shares);
  if (r.cpu_quota != 0) cpu.quota = r.cpu_quota;
  if (r.cpu_period > 0) cpu.period = static_cast<uint64_t>(r.cpu_period);
  cpu.cpus = r.cpuset_cpus;
  cpu.mems = r.cpuset_mems;
  if (cpu != oci::Cpu{}) out->cpu = cpu;
  for (const HugepageInput& h : r.hugepage_limits) {
    if (h.page_size.empty()) {
      return absl::InvalidArgumentError("resources.hugepage_limits.page_size: empty");
    }
    out->hugepage_limits.push_back({h.page_size, h.limit});
  }
  out->unified = r.unified;
  return absl::OkStatus();
}

absl::Status FillDevices(const ContainerSpecInput& in, const HostView& host, oci::Linux* linux) {
  linux->resources->devices.push_back({false, "", std::nullopt, std::nullopt, "rwm"});
  if (in.security.privileged) {
    CRI_SPEC_RETURN_IF_ERROR(AddHostDevices(host.dev_dir, linux));
    linux->resources->devices = {{true, "", std::nullopt, std::nullopt, "rwm"}};
  }
  for (const DeviceInput& d : in.devices) CRI_SPEC_RETURN_IF_ERROR(AddDevice(d, linux));
  return absl::OkStatus();
}

absl::Status FillSecurity(const ContainerSpecInput& in, oci::Spec* spec) {
  oci::Linux& linux = *spec->linux;
  if (in.security.privileged) return absl::OkStatus();  // no masks, no seccomp
  absl::StatusOr<std::optional<oci::Seccomp>> sc =
      ResolveSeccomp(in.security.seccomp, spec->process->capabilities->bounding);
  if (!sc.ok()) return sc.status();
  linux.seccomp = *std::move(sc);
  linux.masked_paths =
      in.security.masked_paths.empty() ? DefaultMaskedPaths() : in.security.masked_paths;
  linux.readonly_paths =
      in.security.readonly_paths.empty() ? DefaultReadonlyPaths() : in.security.readonly_paths;
  for (const std::string& p : linux.masked_paths) {
    CRI_SPEC_RETURN_IF_ERROR(CleanAbsolute(p, "masked_paths").status());
  }
  for (const std::string& p : linux.readonly_paths) {
    CRI_SPEC_RETURN_IF_ERROR(CleanAbsolute(p, "readonly_paths").status());
  }
  return absl::OkStatus();
}

absl::Status CheckInput(const ContainerSpecInput& in) {
  if (in.id.empty()) return absl::InvalidArgumentError("id: empty");
  if (in.rootfs_path.empty()) return absl::InvalidArgumentError("rootfs_path: empty");
  if (in.security.privileged && !in.pod.privileged) {
    return absl::InvalidArgumentError(
        "security_context.privileged: the pod sandbox is not privileged");
  }
  return ValidateSysctls(in.pod.sysctls, in.security.namespaces.network,
                         in.security.namespaces.ipc);
}

}  // namespace

void SetPodNamespacePaths(int infra_pid, PodInfo* pod) {
  auto path = [infra_pid](const char* ns) { return absl::StrCat("/proc/", infra_pid, "/ns/", ns); };
  bool host_net = pod->namespaces.network == NamespaceMode::kNode;
  pod->net_ns_path = host_net ? "" : path("net");
  pod->uts_ns_path = host_net ? "" : path("uts");
  pod->ipc_ns_path = pod->namespaces.ipc == NamespaceMode::kNode ? "" : path("ipc");
  pod->pid_ns_path = pod->namespaces.pid == NamespaceMode::kPod ? path("pid") : "";
}

absl::StatusOr<oci::Resources> BuildResources(const ResourcesInput& in) {
  oci::Resources out;
  CRI_SPEC_RETURN_IF_ERROR(FillResources(in, &out));
  return out;
}

absl::StatusOr<std::string> CgroupsPath(const std::string& parent, const std::string& id) {
  if (parent.empty()) return absl::StrCat("/peapod/", id);
  if (absl::EndsWith(parent, ".slice")) return absl::StrCat(parent, ":peapod:", id);
  absl::StatusOr<std::string> clean = CleanAbsolute(parent, "cgroup_parent");
  if (!clean.ok()) return clean.status();
  return absl::StrCat(*clean == "/" ? "" : *clean, "/", id);
}

std::map<std::string, std::string> CriAnnotations(const ContainerSpecInput& in) {
  return {{"io.kubernetes.cri.container-type", "container"},
          {"io.kubernetes.cri.container-name", in.name},
          {"io.kubernetes.cri.image-name", in.image_name},
          {"io.kubernetes.cri.sandbox-id", in.pod.id},
          {"io.kubernetes.cri.sandbox-name", in.pod.name},
          {"io.kubernetes.cri.sandbox-namespace", in.pod.kube_namespace},
          {"io.kubernetes.cri.sandbox-uid", in.pod.uid}};
}

absl::StatusOr<oci::Spec> BuildContainerSpec(const ContainerSpecInput& in, const HostView& host) {
  // 1. Inputs that make no sense together.
  CRI_SPEC_RETURN_IF_ERROR(CheckInput(in));
  oci::Spec spec;
  spec.oci_version = std::string(oci::kOciVersion);
  // With the host's network the container is in the host's UTS namespace:
  // HOSTNAME says the host's name, and config.json sets none (a runtime
  // cannot set a hostname without a UTS namespace of its own).
  bool host_uts = in.security.namespaces.network == NamespaceMode::kNode;
  std::string hostname = in.pod.hostname;
  if (hostname.empty() && host_uts) hostname = HostHostname();
  if (!host_uts) spec.hostname = hostname;
  spec.root = {in.rootfs_path, in.security.readonly_rootfs};
  // 2. The process: args, env, cwd, user, capabilities.
  spec.process.emplace();
  CRI_SPEC_RETURN_IF_ERROR(FillProcess(in, hostname, &*spec.process));
  CRI_SPEC_RETURN_IF_ERROR(FillCapabilities(in, &*spec.process));
  // 3. Namespaces, mounts, devices, resources.
  spec.linux.emplace();
  absl::StatusOr<std::vector<oci::Namespace>> ns = ContainerNamespaces(in);
  if (!ns.ok()) return ns.status();
  spec.linux->namespaces = *std::move(ns);
  CRI_SPEC_RETURN_IF_ERROR(FillMounts(in, host, &spec));
  spec.linux->resources.emplace();
  CRI_SPEC_RETURN_IF_ERROR(FillResources(in.resources, &*spec.linux->resources));
  CRI_SPEC_RETURN_IF_ERROR(FillDevices(in, host, &*spec.linux));
  absl::StatusOr<std::string> cgroups = CgroupsPath(in.pod.cgroup_parent, in.id);
  if (!cgroups.ok()) return cgroups.status();
  spec.linux->cgroups_path = *std::move(cgroups);
  spec.linux->sysctl = in.pod.sysctls;
  // 4. Seccomp and masked paths; annotations.
  CRI_SPEC_RETURN_IF_ERROR(FillSecurity(in, &spec));
  spec.annotations = FilterAnnotations(in.annotations, in.annotation_allowlist);
  for (auto& [k, v] : CriAnnotations(in)) spec.annotations[k] = v;
  return spec;
}

}  // namespace peapod::cri::spec
