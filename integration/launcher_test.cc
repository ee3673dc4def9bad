// End-to-end tests of the launcher: the runtime binary runs the probe in a
// bundle and the tests assert on the facts it reports. Run against runc with
// PEA_RUNTIME=runc to check the tests themselves.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_split.h"
#include "integration/harness.h"

namespace peapod::integration {
namespace {

using ::testing::Contains;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

class LauncherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    if (!std::filesystem::exists(BuildDir() + "/oci/probe/peapod-probe")) {
      GTEST_SKIP() << "peapod-probe not built";
    }
  }

  // `run` of the bundle as `id`; the probe's JSON output parsed.
  json::Value RunProbe(Bundle& bundle, const std::string& id = "probe", int want_status = 0) {
    bundle.Save();
    ProcResult r = rt_({"run", "--bundle", bundle.path(), id});
    EXPECT_EQ(r.status, want_status) << r.err;
    absl::StatusOr<json::Value> facts = ProbeJson(r.out);
    EXPECT_TRUE(facts.ok()) << facts.status() << "\nstderr: " << r.err;
    return facts.ok() ? *facts : json::Value();
  }

  static int64_t Int(const json::Value& v, const char* key) {
    const json::Value* m = v.Find(key);
    if (m == nullptr) return -999999;
    return m->type() == json::Type::kInt ? m->raw_int() : static_cast<int64_t>(m->raw_uint());
  }
  static std::string Str(const json::Value& v, const char* key) {
    const json::Value* m = v.Find(key);
    return m && m->is_string() ? m->as_string() : "";
  }
  static std::vector<std::string> Strings(const json::Value& v, const char* key) {
    std::vector<std::string> out;
    if (const json::Value* m = v.Find(key); m && m->is_array()) {
      for (const json::Value& e : m->as_array()) out.push_back(e.is_string() ? e.as_string() : "");
    }
    return out;
  }
  static std::vector<int64_t> Ints(const json::Value& v, const char* key) {
    std::vector<int64_t> out;
    if (const json::Value* m = v.Find(key); m && m->is_array()) {
      for (const json::Value& e : m->as_array()) {
        out.push_back(e.type() == json::Type::kInt ? e.raw_int()
                                                   : static_cast<int64_t>(e.raw_uint()));
      }
    }
    return out;
  }

  Runtime rt_;
};

TEST_F(LauncherTest, ProbeRunsAsPid1InItsOwnNamespaces) {
  Bundle b;
  json::Value f = RunProbe(b);
  EXPECT_EQ(Int(f, "pid"), 1);
  EXPECT_EQ(Str(f, "hostname"), "peapod");
  EXPECT_THAT(Strings(f, "net"), ElementsAre("lo"));
  EXPECT_EQ(Str(f, "cwd"), "/");
  EXPECT_EQ(Int(f, "uid"), 0);
  EXPECT_FALSE(f.Find("root_writable")->as_bool());
  EXPECT_EQ(Int(f, "no_new_privs"), 1);
  // CAP_KILL (5), CAP_NET_BIND_SERVICE (10), CAP_AUDIT_WRITE (29).
  EXPECT_EQ(Str(f, "CapEff"), "0000000020000420");
  EXPECT_EQ(Str(f, "CapBnd"), "0000000020000420");
  EXPECT_EQ(Str(f, "CapInh"), "0000000000000000");
  EXPECT_THAT(Ints(f, "fds"), ElementsAre(0, 1, 2));
  EXPECT_THAT(Strings(f, "env"), Contains("TERM=xterm"));
  EXPECT_FALSE(f.Find("stdin_tty")->as_bool());
  const json::Value* nofile = f.Find("rlimits")->Find("RLIMIT_NOFILE");
  EXPECT_EQ(Int(*nofile, "soft"), 1024);
  EXPECT_EQ(Int(*nofile, "hard"), 1024);
  EXPECT_THAT(rt_.RootEntries(), IsEmpty());
}

TEST_F(LauncherTest, MountsFromTheSpec) {
  Bundle b;
  json::Value f = RunProbe(b);
  std::map<std::string, std::string> fstype, options;
  for (const json::Value& m : f.Find("mounts")->as_array()) {
    fstype[Str(m, "mount_point")] = Str(m, "fstype");
    options[Str(m, "mount_point")] = Str(m, "options");
  }
  EXPECT_EQ(fstype["/proc"], "proc");
  EXPECT_EQ(fstype["/dev"], "tmpfs");
  EXPECT_EQ(fstype["/dev/pts"], "devpts");
  EXPECT_EQ(fstype["/sys"], "sysfs");
  EXPECT_THAT(options["/"], HasSubstr("ro"));
  EXPECT_THAT(options["/sys"], HasSubstr("ro"));
}

TEST_F(LauncherTest, ExitStatusPropagates) {
  Bundle b({"peapod-probe", "exit", "7"});
  b.Save();
  ProcResult r = rt_({"run", "-b", b.path(), "exit7"});
  EXPECT_EQ(r.status, 7) << r.err;
  EXPECT_THAT(rt_.RootEntries(), IsEmpty());
}

TEST_F(LauncherTest, UserGroupsAndUmask) {
  Bundle b;
  b.spec.process->user.uid = 1000;
  b.spec.process->user.gid = 1001;
  b.spec.process->user.additional_gids = {5, 6};
  b.spec.process->user.umask = 077;
  b.spec.process->cwd = "/tmp";
  json::Value f = RunProbe(b);
  EXPECT_EQ(Int(f, "uid"), 1000);
  EXPECT_EQ(Int(f, "euid"), 1000);
  EXPECT_EQ(Int(f, "gid"), 1001);
  EXPECT_THAT(Ints(f, "groups"), ElementsAre(5, 6));
  EXPECT_EQ(Int(f, "umask"), 077);
  EXPECT_EQ(Str(f, "cwd"), "/tmp");
  EXPECT_EQ(Str(f, "CapEff"), "0000000000000000");  // non-root without ambient caps
}

TEST_F(LauncherTest, AmbientCapabilitiesNeedInheritable) {
  // As runc 1.1: an ambient cap that is not inheritable is not raised, and
  // that is no error; with inheritable it reaches a non-root process.
  Bundle b;
  b.spec.process->user.uid = 1000;
  b.spec.process->user.gid = 1000;
  b.spec.process->capabilities->ambient = {"CAP_KILL"};
  json::Value f = RunProbe(b, "amb");
  EXPECT_EQ(Str(f, "CapAmb"), "0000000000000000");
  EXPECT_EQ(Str(f, "CapEff"), "0000000000000000");
  b.spec.process->capabilities->inheritable = {"CAP_KILL"};
  f = RunProbe(b, "amb2");
  EXPECT_EQ(Str(f, "CapAmb"), "0000000000000020");
  EXPECT_EQ(Str(f, "CapEff"), "0000000000000020");
  EXPECT_EQ(Str(f, "CapInh"), "0000000000000020");
}

TEST_F(LauncherTest, MaskedAndReadonlyPaths) {
  // /proc/timer_list exists on every kernel this runs on (/proc/kcore may not).
  Bundle kcore({"peapod-probe", "read", "/proc/timer_list"});
  json::Value f = RunProbe(kcore, "kcore");
  EXPECT_EQ(Int(f, "errno"), 0);
  EXPECT_EQ(Str(f, "content"), "");  // /dev/null bound over it
  Bundle firmware({"peapod-probe", "ls", "/sys/firmware"});
  f = RunProbe(firmware, "firmware");
  EXPECT_THAT(Strings(f, "entries"), IsEmpty());
  Bundle sys({"peapod-probe", "write", "/proc/sys/kernel/hostname", "x"});
  f = RunProbe(sys, "procsys", 1);
  EXPECT_EQ(Int(f, "errno"), EROFS);
}

TEST_F(LauncherTest, SeccompRuleDeniesSethostname) {
  Bundle b({"peapod-probe", "sethostname", "evil"});
  auto& caps = *b.spec.process->capabilities;
  for (auto* set : {&caps.bounding, &caps.effective, &caps.permitted})
    set->push_back("CAP_SYS_ADMIN");
  // Control: with CAP_SYS_ADMIN in its own UTS namespace the call works.
  json::Value f = RunProbe(b, "allowed");
  EXPECT_EQ(Int(f, "errno"), 0);
  oci::Seccomp seccomp;
  seccomp.default_action = "SCMP_ACT_ALLOW";
  seccomp.architectures = {"SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"};
  seccomp.syscalls.push_back(
      {.names = {"sethostname"}, .action = "SCMP_ACT_ERRNO", .errno_ret = EPERM});
  b.spec.linux->seccomp = seccomp;
  f = RunProbe(b, "denied", 1);
  EXPECT_EQ(Int(f, "errno"), EPERM);
  b.spec.process->args = {"peapod-probe"};
  f = RunProbe(b, "mode");
  EXPECT_EQ(Int(f, "seccomp"), 2);  // SECCOMP_MODE_FILTER
}

TEST_F(LauncherTest, RlimitsApplied) {
  Bundle b;
  b.spec.process->rlimits = {{"RLIMIT_NOFILE", 512, 256}, {"RLIMIT_CORE", 0, 0}};
  json::Value f = RunProbe(b);
  const json::Value* r = f.Find("rlimits");
  EXPECT_EQ(Int(*r->Find("RLIMIT_NOFILE"), "soft"), 256);
  EXPECT_EQ(Int(*r->Find("RLIMIT_NOFILE"), "hard"), 512);
  EXPECT_EQ(Int(*r->Find("RLIMIT_CORE"), "hard"), 0);
}

TEST_F(LauncherTest, MemoryLimitOomKills) {
  Bundle b({"peapod-probe", "alloc", "256"});
  b.spec.linux->resources.emplace().memory = oci::Memory{.limit = 32 << 20, .swap = 32 << 20};
  b.Save();
  ProcResult r = rt_({"run", "-b", b.path(), "oom"}, "", 120);
  EXPECT_EQ(r.status, 137) << r.out << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("\"action\":\"alloc\",\"errno\":0")));
  EXPECT_THAT(rt_.RootEntries(), IsEmpty());
}

TEST_F(LauncherTest, OomVisibleInEventsStats) {
  if (RuntimeIsRunc()) GTEST_SKIP() << "runc reports no OOM count in its v1 stats";
  Bundle b({"peapod-probe", "alloc", "256"});
  b.spec.linux->resources.emplace().memory = oci::Memory{.limit = 32 << 20, .swap = 32 << 20};
  b.Save();
  ASSERT_EQ(rt_({"run", "-d", "-b", b.path(), "oomd"}).status, 0);
  EXPECT_EQ(WaitForStatus(rt_, "oomd", "stopped"), "stopped");
  ProcResult ev = rt_({"events", "--stats", "oomd"});
  ASSERT_EQ(ev.status, 0) << ev.err;
  absl::StatusOr<json::Value> v = json::Parse(ev.out);
  ASSERT_TRUE(v.ok()) << ev.out;
  EXPECT_GE(Int(*v->Find("data")->Find("memory"), "oom_kill"), 1);
  EXPECT_EQ(rt_({"delete", "oomd"}).status, 0);
}

TEST_F(LauncherTest, PidsLimit) {
  Bundle b({"peapod-probe", "forks", "40"});
  b.spec.linux->resources.emplace().pids = oci::Pids{10};
  json::Value f = RunProbe(b);
  EXPECT_LT(Int(f, "forked"), 10);
  EXPECT_GT(Int(f, "forked"), 0);
  EXPECT_EQ(Int(f, "errno"), EAGAIN);
}

TEST_F(LauncherTest, UserNamespaceMapping) {
  Bundle b;
  b.spec.linux->namespaces.push_back({"user", ""});
  b.spec.linux->uid_mappings = {{0, 100000, 65536}};
  b.spec.linux->gid_mappings = {{0, 100000, 65536}};
  // sysfs and cgroupfs need a network/cgroup namespace owned by the user namespace.
  std::erase_if(b.spec.mounts,
                [](const oci::Mount& m) { return m.destination == "/sys/fs/cgroup"; });
  json::Value f = RunProbe(b);
  EXPECT_EQ(Int(f, "uid"), 0);
  std::vector<std::string> map = absl::StrSplit(Str(f, "uid_map"), ' ', absl::SkipEmpty());
  ASSERT_GE(map.size(), 3u) << Str(f, "uid_map");
  EXPECT_EQ(map[0], "0");
  EXPECT_EQ(map[1], "100000");
  EXPECT_EQ(map[2].substr(0, 5), "65536");
  EXPECT_NE(Str(*f.Find("namespaces"), "user"), "");
}

}  // namespace
}  // namespace peapod::integration
