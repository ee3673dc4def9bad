// Unit tests of oci/linux's pure logic and of what would be called through
// the Syscall seam (a recording fake).
#include <fcntl.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/linux/capabilities.h"
#include "oci/linux/fake_syscall.h"
#include "oci/linux/mount_options.h"
#include "oci/linux/namespaces.h"
#include "oci/linux/path_resolve.h"
#include "oci/linux/process_setup.h"
#include "oci/linux/rootfs.h"
#include "oci/linux/sync.h"

namespace peapod::linux {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

TEST(MountOptionsTest, FlagsPropagationAndData) {
  absl::StatusOr<MountOptions> o =
      ParseMountOptions({"rbind", "ro", "nosuid", "rslave", "mode=755", "size=1m", "rw", "ro"});
  ASSERT_TRUE(o.ok());
  EXPECT_TRUE(o->bind);
  EXPECT_TRUE(o->recursive);
  EXPECT_EQ(o->flags, static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
  EXPECT_EQ(o->propagation, static_cast<unsigned long>(MS_SLAVE | MS_REC));
  EXPECT_EQ(o->data, "mode=755,size=1m");
  EXPECT_EQ(BindRemountFlags(*o), static_cast<unsigned long>(MS_RDONLY | MS_NOSUID));
}

TEST(MountOptionsTest, ClearingOptionsWin) {
  absl::StatusOr<MountOptions> o = ParseMountOptions({"noexec", "exec", "nodev", "relatime"});
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->flags, static_cast<unsigned long>(MS_NODEV | MS_RELATIME));
  EXPECT_FALSE(ParseMountOptions({"idmap"}).ok());
  EXPECT_FALSE(ParsePropagation("sideways").ok());
  EXPECT_EQ(*ParsePropagation("rprivate"), static_cast<unsigned long>(MS_PRIVATE | MS_REC));
}

TEST(CapabilitiesTest, NamesMasksAndUnknowns) {
  EXPECT_EQ(*CapabilityNumber("CAP_SYS_ADMIN"), CAP_SYS_ADMIN);
  absl::Status bad = CapabilityMask({"CAP_CHOWN", "CAP_FLY"}, 40).status();
  EXPECT_THAT(std::string(bad.message()), HasSubstr("CAP_FLY"));
  // Caps beyond the kernel's last cap are skipped, not errors.
  EXPECT_EQ(*CapabilityMask({"CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"}, 39), 1u);
}

TEST(CapabilitiesTest, ApplyOrder) {
  FakeSyscall sys;
  oci::Capabilities caps;
  caps.bounding = {"CAP_CHOWN", "CAP_KILL"};
  caps.effective = caps.permitted = {"CAP_KILL"};
  caps.ambient = caps.inheritable = {"CAP_KILL"};
  absl::StatusOr<CapabilityMasks> m = ParseCapabilities(caps, 2);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(DropBounding(sys, *m, 2).ok());
  ASSERT_TRUE(ApplyCapabilities(sys, *m, 2).ok());
  // last_cap 2: CAP_KILL (5) is beyond it and dropped from every mask.
  EXPECT_THAT(sys.calls(), ElementsAre(absl::StrCat("prctl ", PR_CAPBSET_DROP, " 1 0"),
                                       absl::StrCat("prctl ", PR_CAPBSET_DROP, " 2 0"),
                                       absl::StrCat("prctl ", PR_SET_KEEPCAPS, " 1 0"),
                                       absl::StrCat("prctl ", PR_SET_KEEPCAPS, " 0 0"),
                                       "capset e=0x0 p=0x0 i=0x0"));
}

TEST(CapabilitiesTest, AmbientOnlyWhenPermittedAndInheritable) {
  FakeSyscall sys;
  oci::Capabilities caps;
  caps.bounding = caps.effective = caps.permitted = {"CAP_CHOWN", "CAP_DAC_OVERRIDE"};
  caps.inheritable = {"CAP_CHOWN", "CAP_FOWNER"};
  caps.ambient = {"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER"};
  absl::StatusOr<CapabilityMasks> m = ParseCapabilities(caps, 40);
  ASSERT_TRUE(m.ok());
  ASSERT_TRUE(ApplyCapabilities(sys, *m, 40).ok());
  // As runc: CAP_DAC_OVERRIDE is not inheritable, CAP_FOWNER not permitted,
  // so only CAP_CHOWN is raised, and the others are no error.
  EXPECT_THAT(sys.calls(), ElementsAre(absl::StrCat("prctl ", PR_SET_KEEPCAPS, " 0 0"),
                                       "capset e=0x3 p=0x3 i=0x9",
                                       absl::StrCat("prctl ", PR_CAP_AMBIENT, " ",
                                                    PR_CAP_AMBIENT_RAISE, " ", CAP_CHOWN)));
}

TEST(ProcessSetupTest, UserOrderAndValidation) {
  FakeSyscall sys;
  oci::User u;
  u.uid = 1000;
  u.gid = 100;
  u.additional_gids = {5, 6};
  ASSERT_TRUE(ApplyUser(sys, u, true).ok());
  EXPECT_THAT(sys.calls(), ElementsAre("setgroups 5,6", "setgid 100", "setuid 1000"));
  u.uid = 0xffffffff;
  EXPECT_THAT(std::string(ValidateUser(u).message()), HasSubstr("uid"));
}

TEST(ProcessSetupTest, RlimitsNamed) {
  FakeSyscall sys;
  ASSERT_TRUE(ApplyRlimits(sys, {{"RLIMIT_NOFILE", 1024, 512}}).ok());
  EXPECT_THAT(sys.calls(), ElementsAre("setrlimit RLIMIT_NOFILE(7) 512 1024"));
  EXPECT_THAT(std::string(ApplyRlimits(sys, {{"RLIMIT_BOGUS", 1, 1}}).message()),
              HasSubstr("RLIMIT_BOGUS"));
  EXPECT_FALSE(ApplyRlimits(sys, {{"RLIMIT_CORE", 1, 2}}).ok());  // soft > hard
}

TEST(ProcessSetupTest, ListenEnv) {
  std::vector<std::string> env = {"A=1", "LISTEN_FDS=9"};
  SetListenEnv(&env, 2, 1);
  EXPECT_THAT(env, ElementsAre("A=1", "LISTEN_FDS=2", "LISTEN_PID=1"));
}

TEST(NamespacesTest, PlanChecksTypesAndDuplicates) {
  absl::StatusOr<NamespacePlan> p =
      PlanNamespaces({{"pid", ""}, {"mount", ""}, {"network", "/proc/self/ns/net"}});
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->new_flags, CLONE_NEWPID | CLONE_NEWNS);
  ASSERT_EQ(p->joins.size(), 1u);
  EXPECT_EQ(p->joins[0].type, CLONE_NEWNET);
  // A path of another namespace type is refused, naming both.
  absl::Status wrong = PlanNamespaces({{"network", "/proc/self/ns/uts"}}).status();
  EXPECT_THAT(std::string(wrong.message()), HasSubstr("is a uts namespace, not net"));
  EXPECT_FALSE(PlanNamespaces({{"network", "/etc/hostname"}}).ok());
  EXPECT_FALSE(PlanNamespaces({{"pid", ""}, {"pid", ""}}).ok());
  EXPECT_FALSE(PlanNamespaces({{"bogus", ""}}).ok());
}

TEST(NamespacesTest, JoinOrderUserFirstMountLast) {
  absl::StatusOr<NamespacePlan> p = PlanNamespaces({{"mount", "/proc/self/ns/mnt"},
                                                    {"uts", "/proc/self/ns/uts"},
                                                    {"user", "/proc/self/ns/user"}});
  ASSERT_TRUE(p.ok()) << p.status();
  FakeSyscall sys;
  ASSERT_TRUE(JoinNamespaces(sys, p->joins).ok());
  EXPECT_THAT(sys.calls(), ElementsAre(absl::StrCat("setns 0x", absl::Hex(CLONE_NEWUSER)),
                                       absl::StrCat("setns 0x", absl::Hex(CLONE_NEWUTS)),
                                       absl::StrCat("setns 0x", absl::Hex(CLONE_NEWNS))));
}

TEST(NamespacesTest, MapsAndTimeOffsets) {
  EXPECT_EQ(FormatIdMap({{0, 1000, 1}, {1, 100000, 65536}}), "0 1000 1\n1 100000 65536\n");
  EXPECT_EQ(*FormatTimeOffsets({{"monotonic", {5, 7}}}), "monotonic 5 7\n");
  EXPECT_FALSE(FormatTimeOffsets({{"realtime", {1, 0}}}).ok());
}

TEST(SyncTest, TypedMessagesFdsAndEof) {
  auto pair = SyncChannel::Pair();
  ASSERT_TRUE(pair.ok());
  auto& [a, b] = *pair;
  ASSERT_TRUE(a.Send(SyncType::kChildPid, 42, "", STDIN_FILENO).ok());
  absl::StatusOr<SyncMessage> m = b.Expect(SyncType::kChildPid);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->value, 42);
  EXPECT_TRUE(m->fd.valid());
  ASSERT_TRUE(a.SendError(absl::PermissionDeniedError("no way")).ok());
  absl::Status err = b.Expect(SyncType::kReady).status();
  EXPECT_TRUE(absl::IsPermissionDenied(err));
  EXPECT_EQ(err.message(), "no way");
  a.Close();
  EXPECT_THAT(std::string(b.Expect(SyncType::kReady).status().message()),
              HasSubstr("peer exited while waiting for kReady"));
}

class RootDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pea-linux-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    root_ = dir_ + "/root";
    std::filesystem::create_directories(root_);
    fd_ = UniqueFd(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::string dir_, root_;
  UniqueFd fd_;
};

TEST_F(RootDirTest, SymlinksResolveInsideTheRoot) {
  std::filesystem::create_directories(dir_ + "/outside");
  std::filesystem::create_symlink("/../../outside", root_ + "/abs");
  std::filesystem::create_symlink("../../..", root_ + "/up");
  absl::StatusOr<UniqueFd> made = MkdirAllInRoot(fd_.get(), "/abs/x", 0755);
  ASSERT_TRUE(made.ok()) << made.status();
  EXPECT_TRUE(std::filesystem::is_directory(root_ + "/outside/x"));
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/outside/x"));
  ASSERT_TRUE(MkdirAllInRoot(fd_.get(), "/up/y", 0755).ok());
  EXPECT_TRUE(std::filesystem::is_directory(root_ + "/y"));
  ASSERT_TRUE(CreateFileInRoot(fd_.get(), "/up/etc/f", 0644).ok());
  EXPECT_TRUE(std::filesystem::is_regular_file(root_ + "/etc/f"));
  EXPECT_EQ(CleanPath("/a/../../b//c/."), "/b/c");
}

TEST_F(RootDirTest, BindReadonlyNeedsRemountAndPropagation) {
  FakeSyscall sys;
  RootfsPlan plan;
  oci::Mount m;
  m.destination = "/data";
  m.source = dir_;
  m.type = "bind";
  m.options = {"rbind", "ro", "nosuid", "rprivate"};
  ASSERT_TRUE(MountOne(sys, fd_.get(), plan, m).ok());
  ASSERT_EQ(sys.calls().size(), 3u);
  EXPECT_THAT(sys.calls()[0],
              ::testing::MatchesRegex("mount " + dir_ + " /proc/self/fd/[0-9]+  0x5000 "));
  EXPECT_THAT(sys.calls()[1], ::testing::MatchesRegex("mount  /proc/self/fd/[0-9]+  0x1023 "));
  EXPECT_THAT(sys.calls()[2], ::testing::MatchesRegex("mount  /proc/self/fd/[0-9]+  0x44000 "));
  EXPECT_TRUE(std::filesystem::is_directory(root_ + "/data"));
  m.destination = "relative";
  EXPECT_FALSE(MountOne(sys, fd_.get(), plan, m).ok());
}

TEST_F(RootDirTest, SymlinkedDevOrProcRefused) {
  std::filesystem::create_symlink("/proc", root_ + "/proc");
  absl::Status st = CheckRootfs(root_);
  EXPECT_THAT(std::string(st.message()), HasSubstr("/proc is a symlink (to /proc)"));
  EXPECT_FALSE(CheckRootfs(dir_ + "/missing").ok());
}

TEST(RootfsTest, PivotAndNoPivotSequences) {
  FakeSyscall pivot;
  ASSERT_TRUE(EnterRootfs(pivot, "/r", false).ok());
  EXPECT_THAT(pivot.calls(), ElementsAre("chdir /r", "pivot_root . .", "mount  .  0x84000 ",
                                         "umount . 2", "chdir /"));
  FakeSyscall move;
  ASSERT_TRUE(EnterRootfs(move, "/r", true).ok());
  EXPECT_THAT(move.calls(), ElementsAre("chdir /r", "mount /r /  0x2000 ", "chroot .", "chdir /"));
}

TEST(RootfsTest, ProcCgroupParse) {
  std::vector<CgroupEntry> e = ParseProcCgroup("4:cpu,cpuacct:/pea/x\n0::/pea/x\n");
  ASSERT_EQ(e.size(), 2u);
  EXPECT_EQ(e[0].controllers, "cpu,cpuacct");
  EXPECT_EQ(e[1].controllers, "");
  EXPECT_EQ(e[1].path, "/pea/x");
}

}  // namespace
}  // namespace peapod::linux
