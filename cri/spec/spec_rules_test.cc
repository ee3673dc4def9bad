#include "cri/spec/spec_rules.h"

#include <unistd.h>

#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peapod::cri::spec {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::Not;

ImageConfigInput Image(std::vector<std::string> entrypoint, std::vector<std::string> cmd) {
  ImageConfigInput image;
  image.entrypoint = std::move(entrypoint);
  image.cmd = std::move(cmd);
  return image;
}

TEST(ProcessArgsTest, KubernetesCommandAndArgsRules) {
  ImageConfigInput image = Image({"/ep", "-x"}, {"c1", "c2"});
  EXPECT_THAT(*ProcessArgs({}, {}, image), ElementsAre("/ep", "-x", "c1", "c2"));
  // args replace cmd, keep the entrypoint.
  EXPECT_THAT(*ProcessArgs({}, {"a1"}, image), ElementsAre("/ep", "-x", "a1"));
  // command replaces the entrypoint and drops the image's cmd.
  EXPECT_THAT(*ProcessArgs({"/bin/cmd"}, {}, image), ElementsAre("/bin/cmd"));
  EXPECT_THAT(*ProcessArgs({"/bin/cmd"}, {"a1"}, image), ElementsAre("/bin/cmd", "a1"));
  // No entrypoint: cmd alone, or args alone.
  EXPECT_THAT(*ProcessArgs({}, {}, Image({}, {"/c"})), ElementsAre("/c"));
  EXPECT_THAT(*ProcessArgs({}, {"/a"}, Image({}, {"/c"})), ElementsAre("/a"));
  EXPECT_EQ(ProcessArgs({}, {}, Image({}, {})).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MergeEnvTest, ContainerOverridesImageInPlaceAndPathDefaults) {
  absl::StatusOr<std::vector<std::string>> env =
      MergeEnv({"A=1", "B=2"}, {{"B", "x=y"}, {"C", ""}});
  ASSERT_TRUE(env.ok());
  EXPECT_THAT(*env, ElementsAre(kDefaultPath, "A=1", "B=x=y", "C="));
  env = MergeEnv({"PATH=/only"}, {});
  EXPECT_THAT(*env, ElementsAre("PATH=/only"));
  env = MergeEnv({"PATH=/only"}, {{"PATH", "/mine"}});
  EXPECT_THAT(*env, ElementsAre("PATH=/mine"));
  EXPECT_EQ(MergeEnv({}, {{"A=B", "c"}}).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(MergeEnv({}, {{"", "c"}}).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CapabilitiesTest, DefaultsAreContainerds) {
  absl::StatusOr<std::vector<std::string>> caps = ApplyCapabilities({});
  ASSERT_TRUE(caps.ok());
  EXPECT_EQ(caps->size(), 14u);
  EXPECT_THAT(*caps, Contains("CAP_AUDIT_WRITE"));
  EXPECT_THAT(*caps, Not(Contains("CAP_SYS_ADMIN")));
  EXPECT_THAT(*caps, Not(Contains("CAP_NET_ADMIN")));
}

TEST(CapabilitiesTest, AddDropAndAll) {
  CapabilityInput in;
  in.add = {"NET_ADMIN", "cap_sys_time"};
  in.drop = {"chown", "CAP_KILL"};
  absl::StatusOr<std::vector<std::string>> caps = ApplyCapabilities(in);
  ASSERT_TRUE(caps.ok());
  EXPECT_THAT(*caps, Contains("CAP_NET_ADMIN"));
  EXPECT_THAT(*caps, Contains("CAP_SYS_TIME"));
  EXPECT_THAT(*caps, Not(Contains("CAP_CHOWN")));
  EXPECT_THAT(*caps, Not(Contains("CAP_KILL")));

  CapabilityInput drop_all;
  drop_all.drop = {"ALL"};
  drop_all.add = {"NET_BIND_SERVICE"};
  EXPECT_THAT(*ApplyCapabilities(drop_all), ElementsAre("CAP_NET_BIND_SERVICE"));

  CapabilityInput add_all;
  add_all.add = {"all"};
  add_all.drop = {"SYS_ADMIN"};
  caps = ApplyCapabilities(add_all);
  ASSERT_TRUE(caps.ok());
  EXPECT_THAT(*caps, Contains("CAP_SYS_MODULE"));
  EXPECT_THAT(*caps, Not(Contains("CAP_SYS_ADMIN")));
  EXPECT_EQ(caps->size(), AllCapabilities().size() - 1);

  CapabilityInput bad;
  bad.add = {"FLY"};
  absl::Status s = ApplyCapabilities(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), ::testing::HasSubstr("FLY"));
  bad.add.clear();
  bad.drop = {"CAP_NOPE"};
  EXPECT_EQ(ApplyCapabilities(bad).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SeccompTest, Choices) {
  absl::StatusOr<std::optional<oci::Seccomp>> sc = ResolveSeccomp({}, {});
  ASSERT_TRUE(sc.ok());
  EXPECT_FALSE(sc->has_value());
  sc = ResolveSeccomp({SeccompKind::kRuntimeDefault, ""}, DefaultCapabilities());
  ASSERT_TRUE(sc.ok() && sc->has_value());
  EXPECT_FALSE((*sc)->default_action.empty());
  EXPECT_FALSE((*sc)->syscalls.empty());
  EXPECT_EQ(ResolveSeccomp({SeccompKind::kLocalhost, "relative/p.json"}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveSeccomp({SeccompKind::kLocalhost, "/nonexistent/p.json"}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(SeccompTest, LocalhostProfileFileIsLoaded) {
  std::string path = "/tmp/crispec-seccomp-" + std::to_string(getpid()) + ".json";
  std::ofstream(path) << R"({"defaultAction":"SCMP_ACT_LOG","architectures":["SCMP_ARCH_X86_64"],
      "syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]})";
  absl::StatusOr<std::optional<oci::Seccomp>> sc =
      ResolveSeccomp({SeccompKind::kLocalhost, path}, {});
  ASSERT_TRUE(sc.ok()) << sc.status();
  ASSERT_TRUE(sc->has_value());
  EXPECT_EQ((*sc)->default_action, "SCMP_ACT_LOG");
  ASSERT_EQ((*sc)->syscalls.size(), 1u);
  EXPECT_THAT((*sc)->syscalls[0].names, ElementsAre("mkdir"));
  std::ofstream(path) << "not json";
  EXPECT_EQ(ResolveSeccomp({SeccompKind::kLocalhost, path}, {}).status().code(),
            absl::StatusCode::kInvalidArgument);
  unlink(path.c_str());
}

TEST(SeccompTest, LegacyPaths) {
  EXPECT_EQ(ParseLegacySeccompPath("runtime/default")->kind, SeccompKind::kRuntimeDefault);
  EXPECT_EQ(ParseLegacySeccompPath("docker/default")->kind, SeccompKind::kRuntimeDefault);
  EXPECT_EQ(ParseLegacySeccompPath("unconfined")->kind, SeccompKind::kUnconfined);
  EXPECT_EQ(ParseLegacySeccompPath("")->kind, SeccompKind::kUnconfined);
  absl::StatusOr<SeccompChoice> local = ParseLegacySeccompPath("localhost//etc/p.json");
  ASSERT_TRUE(local.ok());
  EXPECT_EQ(local->kind, SeccompKind::kLocalhost);
  EXPECT_EQ(local->localhost_path, "/etc/p.json");
  for (const char* bad : {"/etc/p.json", "localhost/rel.json", "localhost/", "weird"}) {
    EXPECT_EQ(ParseLegacySeccompPath(bad).status().code(), absl::StatusCode::kInvalidArgument)
        << bad;
  }
}

TEST(SysctlTest, OnlyNamespacedKeys) {
  auto check = [](std::map<std::string, std::string> s, NamespaceMode net = NamespaceMode::kPod,
                  NamespaceMode ipc = NamespaceMode::kPod) {
    return ValidateSysctls(s, net, ipc).code();
  };
  using absl::StatusCode;
  EXPECT_EQ(check({{"net.ipv4.ip_forward", "1"},
                   {"kernel.shmmax", "1"},
                   {"kernel.msgmax", "1"},
                   {"kernel.sem", "250 32000 32 128"},
                   {"fs.mqueue.msg_max", "10"},
                   {"net/ipv4/ping_group_range", "0 0"}}),
            StatusCode::kOk);
  EXPECT_EQ(check({{"kernel.core_pattern", "|/tmp/x"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(check({{"a", "b\nkernel.core_pattern=x"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(check({{"net.ipv4.ip_forward", "1\nkernel.core_pattern=x"}}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(check({{"net.ipv4.ip_forward=1\nkernel.core_pattern", "x"}}),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(check({{"kernel.hostname", "x"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(check({{"vm.swappiness", "1"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(check({{"net.ipv4.ip_forward", "1"}}, NamespaceMode::kNode),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(check({{"kernel.shmmax", "1"}}, NamespaceMode::kNode), StatusCode::kOk);
  EXPECT_EQ(check({{"kernel.shmmax", "1"}}, NamespaceMode::kPod, NamespaceMode::kNode),
            StatusCode::kInvalidArgument);
}

TEST(AnnotationsTest, AllowListAndDenyList) {
  std::map<std::string, std::string> in = {{"team", "a"},
                                           {"example.com/x", "1"},
                                           {"example.com/y", "2"},
                                           {"secret", "s"},
                                           {"run.oci.keep_original_groups", "1"},
                                           {"org.systemd.property.CPUQuota", "1%"},
                                           {"org.criu.config", "/x"},
                                           {"bundle", "/x"},
                                           {"io.containerd.runc.v2.group", "x"},
                                           {"io.kubernetes.cri.sandbox-id", "spoof"}};
  EXPECT_TRUE(FilterAnnotations(in, {}).empty());
  std::map<std::string, std::string> out = FilterAnnotations(in, {"team", "example.com/*"});
  EXPECT_EQ(out, (std::map<std::string, std::string>{
                     {"example.com/x", "1"}, {"example.com/y", "2"}, {"team", "a"}}));
  // Even an allow-everything list never passes what a runtime acts on.
  out = FilterAnnotations(in, {"*"});
  EXPECT_EQ(out.size(), 4u);
  for (const char* k :
       {"run.oci.keep_original_groups", "org.systemd.property.CPUQuota", "org.criu.config",
        "bundle", "io.containerd.runc.v2.group", "io.kubernetes.cri.sandbox-id"}) {
    EXPECT_FALSE(out.contains(k)) << k;
  }
}

}  // namespace
}  // namespace peapod::cri::spec
