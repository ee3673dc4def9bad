#include "cri/spec/container_spec.h"

#include <stdlib.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "cri/spec/spec_mounts.h"
#include "cri/spec/spec_rules.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peapod::cri::spec {
namespace {

namespace fs = std::filesystem;
using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class ContainerSpecTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/crispec-spec-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    fs::create_directories(dir_ + "/rootfs/etc");
    std::ofstream(dir_ + "/rootfs/etc/passwd") << "root:x:0:0::/root:/bin/sh\n";
    in_.id = "c1";
    in_.name = "web";
    in_.image_name = "docker.io/library/busybox:latest";
    in_.rootfs_path = dir_ + "/rootfs";
    in_.image.entrypoint = {"/bin/sh"};
    in_.image.cmd = {"-c", "true"};
    in_.image.env = {"PATH=/bin", "IMG=1"};
    PodInfo& pod = in_.pod;
    pod.id = "pod1";
    pod.name = "pod";
    pod.kube_namespace = "default";
    pod.uid = "uid-1";
    pod.hostname = "podhost";
    pod.cgroup_parent = "/kubepods/pod1";
    SetPodNamespacePaths(4242, &pod);
    pod.hosts_path = dir_ + "/hosts";
    pod.resolv_conf_path = dir_ + "/resolv.conf";
    pod.hostname_path = dir_ + "/hostname";
    pod.shm_path = dir_ + "/shm";
  }
  void TearDown() override { fs::remove_all(dir_); }

  oci::Spec Build() {
    absl::StatusOr<oci::Spec> spec = BuildContainerSpec(in_, host_);
    EXPECT_TRUE(spec.ok()) << spec.status();
    return spec.ok() ? *spec : oci::Spec{};
  }
  absl::StatusCode BuildCode() { return BuildContainerSpec(in_, host_).status().code(); }

  static const oci::Mount* Find(const oci::Spec& spec, const std::string& dest) {
    const oci::Mount* found = nullptr;
    for (const oci::Mount& m : spec.mounts) {
      if (m.destination == dest) {
        EXPECT_EQ(found, nullptr) << "two mounts at " << dest;
        found = &m;
      }
    }
    return found;
  }
  static std::string Ns(const oci::Spec& spec, const std::string& type) {
    for (const oci::Namespace& n : spec.linux->namespaces) {
      if (n.type == type) return n.path.empty() ? "new" : n.path;
    }
    return "none";
  }

  std::string dir_;
  ContainerSpecInput in_;
  HostView host_;
};

TEST_F(ContainerSpecTest, ProcessFromImageAndConfig) {
  in_.envs = {{"IMG", "2"}, {"MINE", "x"}};
  in_.tty = true;
  oci::Spec spec = Build();
  EXPECT_EQ(spec.oci_version, "1.1.0");
  EXPECT_THAT(spec.process->args, ElementsAre("/bin/sh", "-c", "true"));
  EXPECT_THAT(spec.process->env, ElementsAre("HOSTNAME=podhost", "PATH=/bin", "IMG=2", "TERM=xterm",
                                             "MINE=x", "HOME=/root"));
  EXPECT_EQ(spec.process->cwd, "/");
  EXPECT_TRUE(spec.process->terminal);
  EXPECT_EQ(spec.hostname, "podhost");
  EXPECT_EQ(spec.root.path, dir_ + "/rootfs");
  EXPECT_FALSE(spec.root.readonly);
  // The spec is one the OCI writer and reader agree on.
  absl::StatusOr<oci::Spec> back = oci::ParseSpec(oci::SerializeSpec(spec));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, spec);
}

TEST_F(ContainerSpecTest, WorkingDirChoice) {
  in_.image.working_dir = "/img";
  EXPECT_EQ(Build().process->cwd, "/img");
  in_.working_dir = "/work/./x/";
  EXPECT_EQ(Build().process->cwd, "/work/x");
  in_.working_dir = "relative";
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, UserFromImageRootfs) {
  std::ofstream(in_.rootfs_path + "/etc/passwd") << "app:x:1000:1001::/home/app:/bin/sh\n";
  std::ofstream(in_.rootfs_path + "/etc/group") << "extra:x:33:app\n";
  in_.image.user = "app";
  in_.security.supplemental_groups = {5};
  oci::Spec spec = Build();
  EXPECT_EQ(spec.process->user.uid, 1000u);
  EXPECT_EQ(spec.process->user.gid, 1001u);
  EXPECT_THAT(spec.process->user.additional_gids, ElementsAre(33u, 5u));
  EXPECT_THAT(spec.process->env, Contains("HOME=/home/app"));
  in_.image.user = "ghost";
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
  in_.image.user = "";
  in_.security.run_as_group = 5;
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, UnprivilegedSecurityDefaults) {
  in_.security.no_new_privs = true;
  in_.security.readonly_rootfs = true;
  in_.security.seccomp.kind = SeccompKind::kRuntimeDefault;
  oci::Spec spec = Build();
  const oci::Capabilities& caps = *spec.process->capabilities;
  EXPECT_EQ(caps.bounding, DefaultCapabilities());
  EXPECT_EQ(caps.effective, DefaultCapabilities());
  EXPECT_EQ(caps.permitted, DefaultCapabilities());
  EXPECT_THAT(caps.inheritable, IsEmpty());
  EXPECT_THAT(caps.ambient, IsEmpty());
  EXPECT_TRUE(spec.process->no_new_privileges);
  EXPECT_TRUE(spec.root.readonly);
  EXPECT_TRUE(spec.linux->seccomp.has_value());
  EXPECT_EQ(spec.linux->masked_paths, DefaultMaskedPaths());
  EXPECT_THAT(spec.linux->masked_paths, Contains("/sys/devices/virtual/powercap"));
  EXPECT_EQ(spec.linux->readonly_paths, DefaultReadonlyPaths());
  EXPECT_THAT(Find(spec, "/sys")->options, Contains("ro"));
  EXPECT_THAT(Find(spec, "/sys/fs/cgroup")->options, Contains("ro"));
  EXPECT_THAT(Find(spec, "/etc/hosts")->options, Contains("ro"));
  ASSERT_FALSE(spec.linux->resources->devices.empty());
  EXPECT_FALSE(spec.linux->resources->devices[0].allow);
  in_.security.masked_paths = {"/proc/mine"};
  in_.security.readonly_paths = {"/proc/ro"};
  spec = Build();
  EXPECT_THAT(spec.linux->masked_paths, ElementsAre("/proc/mine"));
  EXPECT_THAT(spec.linux->readonly_paths, ElementsAre("/proc/ro"));
  in_.security.masked_paths = {"proc/rel"};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, CapabilitiesAddDropInSpec) {
  in_.security.capabilities.add = {"SYS_ADMIN"};
  in_.security.capabilities.drop = {"ALL"};
  EXPECT_THAT(Build().process->capabilities->bounding, ElementsAre("CAP_SYS_ADMIN"));
  in_.security.capabilities.add = {"NOT_A_CAP"};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, PrivilegedNeedsPrivilegedPod) {
  in_.security.privileged = true;
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, Privileged) {
  in_.pod.privileged = true;
  in_.security.privileged = true;
  in_.security.seccomp.kind = SeccompKind::kRuntimeDefault;
  in_.security.capabilities.drop = {"ALL"};
  oci::Spec spec = Build();
  EXPECT_EQ(spec.process->capabilities->bounding, AllCapabilities());
  EXPECT_THAT(spec.process->capabilities->bounding, Contains("CAP_SYS_ADMIN"));
  EXPECT_FALSE(spec.linux->seccomp.has_value());
  EXPECT_THAT(spec.linux->masked_paths, IsEmpty());
  EXPECT_THAT(spec.linux->readonly_paths, IsEmpty());
  EXPECT_THAT(Find(spec, "/sys")->options, Contains("rw"));
  bool has_null =
      std::any_of(spec.linux->devices.begin(), spec.linux->devices.end(), [](const oci::Device& d) {
        return d.path == "/dev/null" && d.type == "c" && d.major == 1 && d.minor == 3;
      });
  EXPECT_TRUE(has_null);
  ASSERT_EQ(spec.linux->resources->devices.size(), 1u);
  EXPECT_TRUE(spec.linux->resources->devices[0].allow);
  EXPECT_EQ(spec.linux->resources->devices[0].access, "rwm");
}

TEST_F(ContainerSpecTest, SeccompChoicesInSpec) {
  in_.security.seccomp = {SeccompKind::kUnconfined, ""};
  EXPECT_FALSE(Build().linux->seccomp.has_value());
  in_.security.seccomp = {SeccompKind::kLocalhost, "/no/such/profile.json"};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
  in_.security.seccomp = {SeccompKind::kLocalhost, "relative.json"};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, NamespacesPodDefaults) {
  oci::Spec spec = Build();
  EXPECT_EQ(Ns(spec, "network"), "/proc/4242/ns/net");
  EXPECT_EQ(Ns(spec, "ipc"), "/proc/4242/ns/ipc");
  EXPECT_EQ(Ns(spec, "uts"), "/proc/4242/ns/uts");
  EXPECT_EQ(Ns(spec, "pid"), "new");  // CONTAINER
  EXPECT_EQ(Ns(spec, "mount"), "new");
  EXPECT_EQ(Ns(spec, "user"), "none");
}

TEST_F(ContainerSpecTest, NamespacesSharedPidAndNode) {
  in_.pod.namespaces.pid = NamespaceMode::kPod;
  SetPodNamespacePaths(4242, &in_.pod);
  in_.security.namespaces.pid = NamespaceMode::kPod;
  EXPECT_EQ(Ns(Build(), "pid"), "/proc/4242/ns/pid");
  in_.security.namespaces = {NamespaceMode::kNode, NamespaceMode::kNode, NamespaceMode::kNode, ""};
  in_.pod.hostname = "";
  oci::Spec spec = Build();
  for (const char* t : {"network", "uts", "ipc", "pid"}) EXPECT_EQ(Ns(spec, t), "none") << t;
  EXPECT_EQ(Ns(spec, "mount"), "new");
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  // The host's UTS namespace: no hostname to set (a runtime refuses one
  // without a UTS namespace), HOSTNAME names the host.
  EXPECT_EQ(spec.hostname, "");
  EXPECT_NE(std::find(spec.process->env.begin(), spec.process->env.end(),
                      std::string("HOSTNAME=") + host),
            spec.process->env.end());
  EXPECT_EQ(Find(spec, "/dev/shm")->source, "/dev/shm");
}

TEST_F(ContainerSpecTest, NamespacesTargetAndMissingPodPaths) {
  in_.security.namespaces.pid = NamespaceMode::kTarget;
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
  in_.security.namespaces.target_pid_ns_path = "/proc/99/ns/pid";
  EXPECT_EQ(Ns(Build(), "pid"), "/proc/99/ns/pid");
  in_.security.namespaces.pid = NamespaceMode::kPod;  // the pod has no pid ns
  EXPECT_EQ(BuildCode(), absl::StatusCode::kFailedPrecondition);
  in_.security.namespaces.pid = NamespaceMode::kContainer;
  in_.security.namespaces.network = NamespaceMode::kTarget;
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, PodFilesAndShm) {
  oci::Spec spec = Build();
  const oci::Mount* hosts = Find(spec, "/etc/hosts");
  ASSERT_NE(hosts, nullptr);
  EXPECT_EQ(hosts->source, dir_ + "/hosts");
  EXPECT_EQ(hosts->type, "bind");
  EXPECT_THAT(hosts->options, ElementsAre("rbind", "rprivate", "rw"));
  ASSERT_NE(Find(spec, "/etc/resolv.conf"), nullptr);
  ASSERT_NE(Find(spec, "/etc/hostname"), nullptr);
  EXPECT_EQ(Find(spec, "/dev/shm")->source, dir_ + "/shm");
  for (const char* d : {"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}) {
    EXPECT_NE(Find(spec, d), nullptr) << d;
  }
  in_.pod.hosts_path.clear();
  in_.security.namespaces.ipc = NamespaceMode::kContainer;
  spec = Build();
  EXPECT_EQ(Find(spec, "/etc/hosts"), nullptr);
  EXPECT_EQ(Find(spec, "/dev/shm")->type, "tmpfs");
  EXPECT_EQ(Ns(spec, "ipc"), "new");
}

TEST_F(ContainerSpecTest, ContainerOwnHostsMountWins) {
  fs::create_directories(dir_ + "/mine");
  std::ofstream(dir_ + "/mine/hosts") << "1.2.3.4 x\n";
  in_.mounts.push_back({"/etc/hosts", dir_ + "/mine/hosts", true, false, Propagation::kPrivate});
  oci::Spec spec = Build();
  const oci::Mount* hosts = Find(spec, "/etc/hosts");
  ASSERT_NE(hosts, nullptr);
  EXPECT_EQ(hosts->source, dir_ + "/mine/hosts");
  EXPECT_THAT(hosts->options, ElementsAre("rbind", "rprivate", "ro"));
}

TEST_F(ContainerSpecTest, UserMountsResolveSymlinksAndCreateMissing) {
  fs::create_directories(dir_ + "/real");
  fs::create_symlink(dir_ + "/real", dir_ + "/link");
  in_.mounts.push_back({"/data/../data/", dir_ + "/link", false, false, Propagation::kPrivate});
  in_.mounts.push_back({"/new", dir_ + "/created/sub", false, false, Propagation::kPrivate});
  in_.mounts.push_back({"/dev/shm", dir_ + "/real", false, false, Propagation::kPrivate});
  oci::Spec spec = Build();
  const oci::Mount* data = Find(spec, "/data");
  ASSERT_NE(data, nullptr);
  EXPECT_EQ(data->source, dir_ + "/real");
  EXPECT_TRUE(fs::is_directory(dir_ + "/created/sub"));
  EXPECT_EQ(Find(spec, "/dev/shm")->source, dir_ + "/real");
  in_.mounts = {{"relative", dir_ + "/real", false, false, Propagation::kPrivate}};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, MountPropagationOptions) {
  fs::create_directories(dir_ + "/vol");
  host_.mountinfo = "22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw\n";
  in_.mounts = {{"/a", dir_ + "/vol", false, false, Propagation::kHostToContainer}};
  oci::Spec spec = Build();
  EXPECT_THAT(Find(spec, "/a")->options, ElementsAre("rbind", "rslave", "rw"));
  EXPECT_EQ(spec.linux->rootfs_propagation, "rslave");
  in_.mounts.push_back({"/b", dir_ + "/vol", true, false, Propagation::kBidirectional});
  spec = Build();
  EXPECT_THAT(Find(spec, "/b")->options, ElementsAre("rbind", "rshared", "ro"));
  EXPECT_EQ(spec.linux->rootfs_propagation, "rshared");
  host_.mountinfo = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n";
  EXPECT_EQ(BuildCode(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(ContainerSpecTest, DevicesNeedNodesAndValidPermissions) {
  in_.devices = {{"/dev/mynull", "/dev/null", "rw"}};
  oci::Spec spec = Build();
  ASSERT_EQ(spec.linux->devices.size(), 1u);
  EXPECT_EQ(spec.linux->devices[0].path, "/dev/mynull");
  EXPECT_EQ(spec.linux->devices[0].type, "c");
  EXPECT_EQ(spec.linux->devices[0].major, 1);
  EXPECT_EQ(spec.linux->devices[0].minor, 3);
  const auto& rules = spec.linux->resources->devices;
  ASSERT_EQ(rules.size(), 2u);
  EXPECT_FALSE(rules[0].allow);
  EXPECT_TRUE(rules[1].allow);
  EXPECT_EQ(rules[1].access, "rw");
  EXPECT_EQ(rules[1].major, 1);
  in_.devices = {{"/dev/x", "/dev/null", "rwx"}};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
  in_.devices = {{"/dev/x", "/dev/null", "rr"}};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
  in_.devices = {{"/dev/x", dir_ + "/rootfs/etc/passwd", "rw"}};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
  in_.devices = {{"/dev/x", dir_ + "/missing", "rw"}};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kNotFound);
}

TEST_F(ContainerSpecTest, Resources) {
  ResourcesInput& r = in_.resources;
  r.cpu_period = 100000;
  r.cpu_quota = 50000;
  r.cpu_shares = 512;
  r.memory_limit_in_bytes = 64 << 20;
  r.memory_swap_limit_in_bytes = 128 << 20;
  r.oom_score_adj = 500;
  r.cpuset_cpus = "0";
  r.cpuset_mems = "0";
  r.hugepage_limits = {{"2MB", 4 << 20}};
  r.unified = {{"memory.high", "1000000"}};
  oci::Spec spec = Build();
  const oci::Resources& res = *spec.linux->resources;
  EXPECT_EQ(res.memory->limit, 64 << 20);
  EXPECT_EQ(res.memory->swap, 128 << 20);
  EXPECT_EQ(res.cpu->shares, 512u);
  EXPECT_EQ(res.cpu->quota, 50000);
  EXPECT_EQ(res.cpu->period, 100000u);
  EXPECT_EQ(res.cpu->cpus, "0");
  ASSERT_EQ(res.hugepage_limits.size(), 1u);
  EXPECT_EQ(res.hugepage_limits[0].page_size, "2MB");
  EXPECT_EQ(res.unified.at("memory.high"), "1000000");
  EXPECT_EQ(spec.process->oom_score_adj, 500);
  EXPECT_EQ(spec.linux->cgroups_path, "/kubepods/pod1/c1");
  r.oom_score_adj = 1001;
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
  r.oom_score_adj = 0;
  r.memory_limit_in_bytes = -1;
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST(CgroupsPathTest, ParentKinds) {
  EXPECT_EQ(*CgroupsPath("kubepods-pod1.slice", "c1"), "kubepods-pod1.slice:peapod:c1");
  EXPECT_EQ(*CgroupsPath("", "c1"), "/peapod/c1");
  EXPECT_EQ(*CgroupsPath("/a//b/", "c1"), "/a/b/c1");
  EXPECT_EQ(CgroupsPath("relative", "c1").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ContainerSpecTest, SysctlsAndAnnotations) {
  in_.pod.sysctls = {{"net.ipv4.ip_unprivileged_port_start", "0"}};
  in_.annotations = {{"team", "a"}, {"run.oci.hooks", "x"}, {"io.kubernetes.cri.sandbox-id", "x"}};
  in_.annotation_allowlist = {"*"};
  oci::Spec spec = Build();
  EXPECT_EQ(spec.linux->sysctl.at("net.ipv4.ip_unprivileged_port_start"), "0");
  EXPECT_EQ(spec.annotations.at("team"), "a");
  EXPECT_FALSE(spec.annotations.contains("run.oci.hooks"));
  EXPECT_EQ(spec.annotations.at("io.kubernetes.cri.sandbox-id"), "pod1");
  EXPECT_EQ(spec.annotations.at("io.kubernetes.cri.container-type"), "container");
  EXPECT_EQ(spec.annotations.at("io.kubernetes.cri.container-name"), "web");
  EXPECT_EQ(spec.annotations.at("io.kubernetes.cri.image-name"), in_.image_name);
  EXPECT_EQ(spec.annotations.at("io.kubernetes.cri.sandbox-namespace"), "default");
  in_.pod.sysctls = {{"kernel.core_pattern", "|/x"}};
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
  in_.pod.sysctls = {{"net.core.somaxconn", "1"}};
  in_.security.namespaces.network = NamespaceMode::kNode;
  EXPECT_EQ(BuildCode(), absl::StatusCode::kInvalidArgument);
}

TEST(PropagationTest, LongestMountPointDecides) {
  std::string info =
      "22 1 8:1 / / rw shared:1 - ext4 /dev/sda1 rw\n"
      "30 22 0:40 / /mnt rw - tmpfs tmpfs rw\n"
      "31 30 0:41 / /mnt/slave rw master:7 - tmpfs tmpfs rw\n"
      "32 22 0:42 / /with\\040space rw shared:9 - tmpfs tmpfs rw\n";
  auto code = [&](const char* path, Propagation p) {
    return CheckPropagation(info, path, p).code();
  };
  using absl::StatusCode;
  EXPECT_EQ(code("/var/x", Propagation::kBidirectional), StatusCode::kOk);
  EXPECT_EQ(code("/mnt/x", Propagation::kHostToContainer), StatusCode::kFailedPrecondition);
  EXPECT_EQ(code("/mnt/x", Propagation::kPrivate), StatusCode::kOk);
  EXPECT_EQ(code("/mnt/slave/x", Propagation::kHostToContainer), StatusCode::kOk);
  EXPECT_EQ(code("/mnt/slave", Propagation::kBidirectional), StatusCode::kFailedPrecondition);
  EXPECT_EQ(code("/mnt/slaveish", Propagation::kHostToContainer), StatusCode::kFailedPrecondition);
  EXPECT_EQ(code("/with space/d", Propagation::kBidirectional), StatusCode::kOk);
}

TEST(SandboxSpecTest, InfraInPodNamespaces) {
  SandboxSpecInput in;
  in.pod.id = "pod1";
  in.pod.name = "pod";
  in.pod.hostname = "podhost";
  in.pod.cgroup_parent = "/kubepods/pod1";
  in.pod.namespaces.pid = NamespaceMode::kPod;
  in.pod.sysctls = {{"net.ipv4.ping_group_range", "0 65535"}};
  in.pod.seccomp.kind = SeccompKind::kRuntimeDefault;
  in.infra_binary = "/usr/libexec/peapod/peapod-infra";
  in.rootfs_path = "/run/peapod/pods/pod1/root";
  absl::StatusOr<oci::Spec> spec = BuildSandboxSpec(in);
  ASSERT_TRUE(spec.ok()) << spec.status();
  EXPECT_THAT(spec->process->args, ElementsAre("/peapod-infra"));
  EXPECT_TRUE(spec->root.readonly);
  EXPECT_EQ(spec->hostname, "podhost");
  EXPECT_TRUE(spec->process->capabilities->bounding.empty());
  EXPECT_TRUE(spec->process->no_new_privileges);
  EXPECT_TRUE(spec->linux->seccomp.has_value());
  EXPECT_EQ(spec->linux->cgroups_path, "/kubepods/pod1/pod1");
  EXPECT_EQ(spec->linux->sysctl.at("net.ipv4.ping_group_range"), "0 65535");
  EXPECT_EQ(spec->annotations.at("io.kubernetes.cri.container-type"), "sandbox");
  std::vector<std::string> types;
  for (const oci::Namespace& n : spec->linux->namespaces) {
    EXPECT_TRUE(n.path.empty()) << n.type;
    types.push_back(n.type);
  }
  EXPECT_THAT(types, ElementsAre("pid", "ipc", "uts", "mount", "network"));
  bool infra_bound = std::any_of(spec->mounts.begin(), spec->mounts.end(), [&](auto& m) {
    return m.destination == "/peapod-infra" && m.source == in.infra_binary && m.type == "bind";
  });
  EXPECT_TRUE(infra_bound);
  absl::StatusOr<oci::Spec> back = oci::ParseSpec(oci::SerializeSpec(*spec));
  ASSERT_TRUE(back.ok()) << back.status();
  // A network namespace made beforehand is joined by path; only that one.
  in.netns_path = "/run/peapod/netns/pod1";
  spec = BuildSandboxSpec(in);
  ASSERT_TRUE(spec.ok()) << spec.status();
  for (const oci::Namespace& n : spec->linux->namespaces) {
    EXPECT_EQ(n.path, n.type == "network" ? in.netns_path : "") << n.type;
  }
  in.netns_path = "netns/pod1";
  EXPECT_EQ(BuildSandboxSpec(in).status().code(), absl::StatusCode::kInvalidArgument);
  in.netns_path.clear();
  spec = BuildSandboxSpec(in);

  in.pod.namespaces = {NamespaceMode::kNode, NamespaceMode::kNode, NamespaceMode::kNode, ""};
  spec = BuildSandboxSpec(in);  // net.* sysctl with host network
  EXPECT_EQ(spec.status().code(), absl::StatusCode::kInvalidArgument);
  in.pod.sysctls.clear();
  spec = BuildSandboxSpec(in);
  ASSERT_TRUE(spec.ok()) << spec.status();
  ASSERT_EQ(spec->linux->namespaces.size(), 1u);
  EXPECT_EQ(spec->linux->namespaces[0].type, "mount");
  in.pod.run_as_group = 5;
  EXPECT_EQ(BuildSandboxSpec(in).status().code(), absl::StatusCode::kInvalidArgument);
  in.pod.run_as_user = int64_t{1} << 31;
  EXPECT_EQ(BuildSandboxSpec(in).status().code(), absl::StatusCode::kInvalidArgument);
  in.pod.run_as_user = 1000;
  EXPECT_EQ(BuildSandboxSpec(in)->process->user.gid, 5u);
  in.infra_binary = "peapod-infra";
  EXPECT_EQ(BuildSandboxSpec(in).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peapod::cri::spec
