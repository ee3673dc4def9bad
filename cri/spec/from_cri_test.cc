#include "cri/spec/from_cri.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

// seccomp_profile_path is deprecated in CRI but still sent by older kubelets.
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"

namespace peapod::cri::spec {
namespace {

namespace v1 = ::runtime::v1;
using ::testing::ElementsAre;

v1::PodSandboxConfig Pod() {
  v1::PodSandboxConfig pod;
  pod.mutable_metadata()->set_name("pod");
  pod.mutable_metadata()->set_namespace_("ns");
  pod.mutable_metadata()->set_uid("uid-1");
  pod.set_hostname("podhost");
  pod.mutable_linux()->set_cgroup_parent("/kubepods/p");
  (*pod.mutable_linux()->mutable_sysctls())["net.ipv4.ip_forward"] = "1";
  auto* ns = pod.mutable_linux()->mutable_security_context()->mutable_namespace_options();
  ns->set_pid(v1::POD);
  ns->set_network(v1::NODE);
  return pod;
}

TEST(FromCriTest, PodInfo) {
  absl::StatusOr<PodInfo> pod = PodInfoFromCri(Pod());
  ASSERT_TRUE(pod.ok()) << pod.status();
  EXPECT_EQ(pod->name, "pod");
  EXPECT_EQ(pod->kube_namespace, "ns");
  EXPECT_EQ(pod->hostname, "podhost");
  EXPECT_EQ(pod->cgroup_parent, "/kubepods/p");
  EXPECT_EQ(pod->sysctls.at("net.ipv4.ip_forward"), "1");
  EXPECT_EQ(pod->namespaces.pid, NamespaceMode::kPod);
  EXPECT_EQ(pod->namespaces.network, NamespaceMode::kNode);
  EXPECT_EQ(pod->namespaces.ipc, NamespaceMode::kPod);
  EXPECT_FALSE(pod->run_as_user.has_value());
  EXPECT_EQ(pod->seccomp.kind, SeccompKind::kUnconfined);
}

TEST(FromCriTest, ContainerConfig) {
  v1::ContainerConfig c;
  c.mutable_metadata()->set_name("web");
  c.mutable_metadata()->set_attempt(2);
  c.add_command("/bin/sh");
  c.add_args("-c");
  c.set_working_dir("/w");
  auto* env = c.add_envs();
  env->set_key("A");
  env->set_value("1");
  auto* m = c.add_mounts();
  m->set_container_path("/data");
  m->set_host_path("/srv");
  m->set_readonly(true);
  m->set_propagation(v1::PROPAGATION_BIDIRECTIONAL);
  auto* d = c.add_devices();
  d->set_container_path("/dev/x");
  d->set_host_path("/dev/null");
  c.set_tty(true);
  auto* sc = c.mutable_linux()->mutable_security_context();
  sc->mutable_capabilities()->add_add_capabilities("NET_ADMIN");
  sc->mutable_capabilities()->add_drop_capabilities("ALL");
  sc->mutable_run_as_user()->set_value(0);  // set to 0 is not unset
  sc->set_run_as_username("app");
  sc->add_supplemental_groups(7);
  sc->set_no_new_privs(true);
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::RuntimeDefault);
  sc->mutable_namespace_options()->set_pid(v1::CONTAINER);
  auto* r = c.mutable_linux()->mutable_resources();
  r->set_memory_limit_in_bytes(1 << 20);
  r->set_oom_score_adj(10);
  auto* h = r->add_hugepage_limits();
  h->set_page_size("2MB");
  h->set_limit(4);

  absl::StatusOr<ContainerSpecInput> in = ContainerInputFromCri(c, Pod());
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->name, "web");
  EXPECT_EQ(in->attempt, 2u);
  EXPECT_THAT(in->command, ElementsAre("/bin/sh"));
  EXPECT_THAT(in->args, ElementsAre("-c"));
  EXPECT_EQ(in->working_dir, "/w");
  ASSERT_EQ(in->envs.size(), 1u);
  EXPECT_EQ(in->envs[0].second, "1");
  ASSERT_EQ(in->mounts.size(), 1u);
  EXPECT_EQ(in->mounts[0].propagation, Propagation::kBidirectional);
  EXPECT_TRUE(in->mounts[0].readonly);
  ASSERT_EQ(in->devices.size(), 1u);
  EXPECT_EQ(in->devices[0].permissions, "rwm");
  EXPECT_TRUE(in->tty);
  EXPECT_THAT(in->security.capabilities.add, ElementsAre("NET_ADMIN"));
  EXPECT_THAT(in->security.capabilities.drop, ElementsAre("ALL"));
  ASSERT_TRUE(in->security.run_as_user.has_value());
  EXPECT_EQ(*in->security.run_as_user, 0);
  EXPECT_FALSE(in->security.run_as_group.has_value());
  EXPECT_EQ(in->security.run_as_username, "app");
  EXPECT_THAT(in->security.supplemental_groups, ElementsAre(7));
  EXPECT_TRUE(in->security.no_new_privs);
  EXPECT_EQ(in->security.seccomp.kind, SeccompKind::kRuntimeDefault);
  EXPECT_EQ(in->security.namespaces.pid, NamespaceMode::kContainer);
  EXPECT_EQ(in->resources.memory_limit_in_bytes, 1 << 20);
  EXPECT_EQ(in->resources.oom_score_adj, 10);
  ASSERT_EQ(in->resources.hugepage_limits.size(), 1u);
  EXPECT_EQ(in->pod.hostname, "podhost");
}

TEST(FromCriTest, SeccompFields) {
  v1::ContainerConfig c;
  auto* sc = c.mutable_linux()->mutable_security_context();
  sc->set_seccomp_profile_path("localhost//etc/p.json");
  absl::StatusOr<ContainerSpecInput> in = ContainerInputFromCri(c, Pod());
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->security.seccomp.kind, SeccompKind::kLocalhost);
  EXPECT_EQ(in->security.seccomp.localhost_path, "/etc/p.json");
  sc->set_seccomp_profile_path("/etc/p.json");  // no "localhost/" prefix
  EXPECT_EQ(ContainerInputFromCri(c, Pod()).status().code(), absl::StatusCode::kInvalidArgument);
  // The typed field wins over the legacy string.
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Unconfined);
  in = ContainerInputFromCri(c, Pod());
  ASSERT_TRUE(in.ok()) << in.status();
  EXPECT_EQ(in->security.seccomp.kind, SeccompKind::kUnconfined);
  sc->mutable_seccomp()->set_profile_type(v1::SecurityProfile::Localhost);
  sc->mutable_seccomp()->set_localhost_ref("profiles/p.json");
  EXPECT_EQ(ContainerInputFromCri(c, Pod()).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(FromCriTest, UnsupportedFieldsAreRefused) {
  v1::ContainerConfig c;
  c.add_mounts()->mutable_image()->set_image("busybox");
  EXPECT_EQ(ContainerInputFromCri(c, Pod()).status().code(), absl::StatusCode::kInvalidArgument);
  v1::ContainerConfig u;
  u.mutable_linux()
      ->mutable_security_context()
      ->mutable_namespace_options()
      ->mutable_userns_options()
      ->set_mode(v1::POD);
  EXPECT_EQ(ContainerInputFromCri(u, Pod()).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peapod::cri::spec
