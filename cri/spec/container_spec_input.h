// The per-request inputs of the OCI spec builder, in the project's own types.
//
// CRI protobuf is translated into these once, in from_cri.cc; everything else
// in cri/spec/ (and its callers' tests) works on these plain structs.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace peapod::cri::spec {

// CRI NamespaceMode: share the pod's, own, the node's, another container's.
enum class NamespaceMode { kPod, kContainer, kNode, kTarget };

// CRI MountPropagation.
enum class Propagation { kPrivate, kHostToContainer, kBidirectional };

enum class SeccompKind { kUnconfined, kRuntimeDefault, kLocalhost };

struct SeccompChoice {
  SeccompKind kind = SeccompKind::kUnconfined;
  std::string localhost_path;  // absolute path of a JSON profile (kLocalhost)
};

struct NamespaceOptions {
  NamespaceMode network = NamespaceMode::kPod;
  NamespaceMode pid = NamespaceMode::kContainer;
  NamespaceMode ipc = NamespaceMode::kPod;
  // For pid = kTarget: the target container's /proc/<pid>/ns/pid.
  std::string target_pid_ns_path;
};

// What a container needs to know about its pod.
struct PodInfo {
  std::string id;  // sandbox id
  std::string name, kube_namespace, uid;
  uint32_t attempt = 0;
  std::string hostname;
  std::string log_directory;
  std::string cgroup_parent;                   // "/kubepods/..." or "x.slice"
  std::map<std::string, std::string> sysctls;  // validated by ValidateSysctls
  bool privileged = false;                     // the pod may hold privileged containers
  NamespaceOptions namespaces;                 // the pod's own choices
  // The infra's namespaces, /proc/<infra pid>/ns/{net,ipc,uts,pid}; empty
  // where the pod uses the host's (or, for pid, has none of its own).
  std::string net_ns_path, ipc_ns_path, uts_ns_path, pid_ns_path;
  // Files the runtime wrote for the pod; empty = none.
  std::string hosts_path, resolv_conf_path, hostname_path;
  std::string shm_path;  // the pod's /dev/shm tmpfs; empty = each container gets its own
  // Pod-level security (the sandbox spec).
  std::optional<int64_t> run_as_user, run_as_group;
  bool readonly_rootfs = false;
  SeccompChoice seccomp;
};

struct MountInput {
  std::string container_path;
  std::string host_path;
  bool readonly = false;
  bool selinux_relabel = false;  // no SELinux on peapod hosts: accepted, not acted on
  Propagation propagation = Propagation::kPrivate;
};

struct DeviceInput {
  std::string container_path;
  std::string host_path;
  std::string permissions = "rwm";  // subset of "rwm"
};

struct CapabilityInput {
  std::vector<std::string> add, drop;  // "NET_ADMIN" or "CAP_NET_ADMIN"; "ALL"
};

struct SecurityInput {
  bool privileged = false;
  CapabilityInput capabilities;
  std::optional<int64_t> run_as_user;
  std::string run_as_username;
  std::optional<int64_t> run_as_group;
  std::vector<int64_t> supplemental_groups;
  bool readonly_rootfs = false;
  bool no_new_privs = false;
  std::vector<std::string> masked_paths;    // empty = the defaults
  std::vector<std::string> readonly_paths;  // empty = the defaults
  SeccompChoice seccomp;
  NamespaceOptions namespaces;
};

struct HugepageInput {
  std::string page_size;  // "2MB"
  uint64_t limit = 0;
};

// CRI LinuxContainerResources; 0 / empty = unset.
struct ResourcesInput {
  int64_t cpu_period = 0, cpu_quota = 0, cpu_shares = 0;
  int64_t memory_limit_in_bytes = 0, memory_swap_limit_in_bytes = 0;
  int64_t oom_score_adj = 0;
  std::string cpuset_cpus, cpuset_mems;
  std::vector<HugepageInput> hugepage_limits;
  std::map<std::string, std::string> unified;
};

// The parts of an image config a container spec uses.
struct ImageConfigInput {
  std::vector<std::string> entrypoint, cmd, env;  // env as "K=V"
  std::string working_dir;
  std::string user;  // "", "1000", "app", "1000:50", "app:grp"
};

struct ContainerSpecInput {
  std::string id;
  std::string name;
  uint32_t attempt = 0;
  std::string image_name;
  PodInfo pod;
  std::vector<std::string> command, args;
  std::string working_dir;
  std::vector<std::pair<std::string, std::string>> envs;
  std::vector<MountInput> mounts;
  std::vector<DeviceInput> devices;
  std::map<std::string, std::string> labels, annotations;
  std::string log_path;
  bool stdin = false, stdin_once = false, tty = false;
  SecurityInput security;
  ResourcesInput resources;
  ImageConfigInput image;
  std::string rootfs_path;  // the container's mounted root filesystem
  // Extra annotation keys (exact, or a prefix ending in '*') copied from
  // `annotations` into config.json; the deny-list in annotations.h wins.
  std::vector<std::string> annotation_allowlist;
};

// The pod's infra process (peapod-infra).
struct SandboxSpecInput {
  PodInfo pod;
  std::string infra_binary;          // host path of peapod-infra, bind-mounted read-only
  std::string rootfs_path;           // a (tiny) directory used as the infra's root
  std::optional<int> oom_score_adj;  // containerd uses -998; unset leaves it alone
  // A network namespace made for the pod beforehand (pinned), for the infra
  // to join; empty: the infra gets a new one (unless the pod uses the node's).
  std::string netns_path;
};

}  // namespace peapod::cri::spec
