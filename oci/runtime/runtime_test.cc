// End-to-end container tests: real namespaces, mounts and cgroups.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/runtime/runtime.h"
#include "oci/runtime/state_store.h"
#include "oci/runtime/test_bundle.h"

namespace peapod::runtime {
namespace {

using ::testing::HasSubstr;
using testing::Pipe;
using testing::TestBundle;

class RuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/pea-root-XXXXXX";
    opts_.root = ::mkdtemp(tmpl);
    id_ = absl::StrCat("t", ::getpid(), "-", counter_++);
  }
  void TearDown() override {
    Delete(opts_, id_, true).IgnoreError();
    EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
    EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/memory/pea/" + id_));
    EXPECT_FALSE(std::filesystem::exists("/sys/fs/cgroup/unified/pea/" + id_));
    EXPECT_THAT(testing::MountsUnder(bundle_.dir()), ::testing::IsEmpty());
    std::filesystem::remove_all(opts_.root);
  }

  // Runs `args` in a container with stdout/stderr into a pipe; returns
  // {exit code, output}.
  std::pair<int, std::string> RunCapture(std::vector<std::string> args) {
    bundle_.spec().process->args = std::move(args);
    bundle_.Write();
    Pipe out;
    CreateOptions c;
    c.id = id_;
    c.bundle = bundle_.dir();
    c.stdout_fd = out.w;
    c.stderr_fd = out.w;
    absl::StatusOr<int> code = runtime::Run(opts_, c, false);
    out.CloseWrite();
    std::string text = out.ReadAll();
    EXPECT_TRUE(code.ok()) << code.status();
    return {code.value_or(-1), text};
  }

  static inline int counter_ = 0;
  Options opts_;
  std::string id_;
  TestBundle bundle_;
};

TEST_F(RuntimeTest, RunPrintsAndExits) {
  auto [code, out] = RunCapture({"sh", "-c", "echo hello; echo pid=$$; hostname; exit 3"});
  EXPECT_EQ(code, 3);
  EXPECT_EQ(out, "hello\npid=1\npea\n");
}

TEST_F(RuntimeTest, SignalDeathIs128PlusSignal) {
  // PID 1 ignores signals it has no handler for, except SIGKILL from outside.
  std::thread killer([this] {
    for (int i = 0; i < 200; ++i) {
      absl::StatusOr<ContainerState> st = State(opts_, id_);
      if (st.ok() && st->status == "running") break;
      ::usleep(10000);
    }
    EXPECT_TRUE(Kill(opts_, id_, SIGKILL, false).ok());
  });
  auto [code, out] = RunCapture({"sleep", "30"});
  killer.join();
  EXPECT_EQ(code, 128 + SIGKILL) << out;
}

TEST_F(RuntimeTest, ReadonlyRootAndMaskedPaths) {
  oci::Mount tmp;
  tmp.destination = "/tmp";
  tmp.type = "tmpfs";
  tmp.source = "tmpfs";
  tmp.options = {"nosuid", "nodev", "mode=1777"};
  bundle_.spec().mounts.push_back(tmp);
  auto [code, out] = RunCapture(
      {"sh", "-c",
       "touch /x 2>/dev/null && echo rootrw; echo x > /proc/sys/kernel/domainname 2>/dev/null && "
       "echo rw; cat /proc/kcore 2>/dev/null | wc -c; ls /proc/acpi | wc -l; "
       "touch /tmp/ok && echo tmp"});
  EXPECT_EQ(code, 0);
  // The shell reports the failed redirect itself; nothing got written.
  EXPECT_EQ(out,
            "sh: can't create /proc/sys/kernel/domainname: Read-only file system\n0\n0\ntmp\n");
}

TEST_F(RuntimeTest, OnlyStdioFdsReachTheContainer) {
  auto [code, out] = RunCapture({"ls", "/proc/self/fd"});
  EXPECT_EQ(code, 0);
  // ls itself opens the directory: 3 is its own fd.
  EXPECT_EQ(out, "0\n1\n2\n3\n");
}

TEST_F(RuntimeTest, CapabilitiesAreTheConfiguredOnes) {
  auto [code, out] = RunCapture({"sh", "-c", "grep Cap /proc/self/status"});
  EXPECT_EQ(code, 0);
  // The default spec's set: KILL, NET_BIND_SERVICE, AUDIT_WRITE.
  EXPECT_THAT(out, HasSubstr("CapBnd:\t0000000020000420"));
  EXPECT_THAT(out, HasSubstr("CapEff:\t0000000020000420"));
  EXPECT_THAT(out, HasSubstr("CapPrm:\t0000000020000420"));
  EXPECT_THAT(out, HasSubstr("CapAmb:\t0000000000000000"));
}

TEST_F(RuntimeTest, CreateStartStateKillDelete) {
  bundle_.spec().process->args = {"sleep", "100"};
  bundle_.Write();
  CreateOptions c;
  c.id = id_;
  c.bundle = bundle_.dir();
  ASSERT_TRUE(Create(opts_, c).ok());
  absl::StatusOr<ContainerState> st = State(opts_, id_);
  ASSERT_TRUE(st.ok()) << st.status();
  EXPECT_EQ(st->status, "created");
  EXPECT_GT(st->pid, 0);
  // The init waits before exec: it still runs our binary, not sleep.
  EXPECT_TRUE(std::filesystem::exists(opts_.root + "/" + id_ + "/exec.fifo"));
  ASSERT_TRUE(Start(opts_, id_).ok());
  st = State(opts_, id_);
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, "running");
  EXPECT_FALSE(Delete(opts_, id_, false).ok());  // running: refused
  ASSERT_TRUE(Kill(opts_, id_, SIGKILL, false).ok());
  for (int i = 0; i < 100 && State(opts_, id_)->status != "stopped"; ++i) ::usleep(10000);
  ::waitpid(st->pid, nullptr, WNOHANG);
  EXPECT_EQ(State(opts_, id_)->status, "stopped");
  ASSERT_TRUE(Delete(opts_, id_, false).ok());
  EXPECT_TRUE(absl::IsNotFound(State(opts_, id_).status()));
}

// The state record says whether Start must read the config back for
// poststart hooks; one without the field (an older pea's) says it must.
TEST_F(RuntimeTest, StateRecordsWhetherThereArePoststartHooks) {
  bundle_.spec().process->args = {"sleep", "100"};
  bundle_.Write();
  CreateOptions c;
  c.id = id_;
  c.bundle = bundle_.dir();
  ASSERT_TRUE(Create(opts_, c).ok());
  absl::StatusOr<StateRecord> rec = LoadState(opts_, id_);
  ASSERT_TRUE(rec.ok()) << rec.status();
  EXPECT_FALSE(rec->poststart_hooks);
  std::string path = opts_.root + "/" + id_ + "/state.json";
  absl::StatusOr<std::string> text = linux::ReadWholeFile(path);
  ASSERT_TRUE(text.ok());
  std::string old = *text;
  size_t at = old.find("\"poststart_hooks\":false");
  ASSERT_NE(at, std::string::npos) << old;
  old.erase(at, std::string("\"poststart_hooks\":false").size());
  if (old[at] == ',')
    old.erase(at, 1);
  else if (old[at - 1] == ',')
    old.erase(at - 1, 1);
  ASSERT_TRUE(linux::ReplaceFile(path, old).ok());
  rec = LoadState(opts_, id_);
  ASSERT_TRUE(rec.ok()) << rec.status() << "\n" << old;
  EXPECT_TRUE(rec->poststart_hooks);
  ASSERT_TRUE(Start(opts_, id_).ok());  // reads the config, finds none, goes on
  ASSERT_TRUE(Kill(opts_, id_, SIGKILL, false).ok());
  ASSERT_TRUE(Delete(opts_, id_, true).ok());
}

TEST_F(RuntimeTest, DuplicateIdRefused) {
  bundle_.spec().process->args = {"sleep", "100"};
  bundle_.Write();
  CreateOptions c;
  c.id = id_;
  c.bundle = bundle_.dir();
  ASSERT_TRUE(Create(opts_, c).ok());
  absl::Status again = Create(opts_, c);
  EXPECT_TRUE(absl::IsAlreadyExists(again)) << again;
  EXPECT_EQ(State(opts_, id_)->status, "created");
}

TEST_F(RuntimeTest, BadInputLeavesNothing) {
  CreateOptions c;
  c.id = id_;
  c.bundle = bundle_.dir();
  absl::Status st = Create(opts_, c);  // no config.json yet
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("config.json"));
  bundle_.spec().root.path = "nonexistent";
  bundle_.Write();
  st = Create(opts_, c);
  EXPECT_THAT(std::string(st.message()), HasSubstr("nonexistent"));
  c.id = "../evil";
  EXPECT_TRUE(absl::IsInvalidArgument(Create(opts_, c)));
  c.id = id_;
  EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
}

TEST_F(RuntimeTest, SymlinkedDevRefused) {
  std::filesystem::remove(bundle_.rootfs() + "/dev");
  std::filesystem::create_symlink("/dev", bundle_.rootfs() + "/dev");
  bundle_.Write();
  CreateOptions c;
  c.id = id_;
  c.bundle = bundle_.dir();
  absl::Status st = Create(opts_, c);
  EXPECT_THAT(std::string(st.message()), HasSubstr("/dev is a symlink"));
  EXPECT_FALSE(std::filesystem::exists(opts_.root + "/" + id_));
}

TEST(ParseSignalTest, NamesAndNumbers) {
  EXPECT_EQ(*ParseSignal("KILL"), SIGKILL);
  EXPECT_EQ(*ParseSignal("SIGTERM"), SIGTERM);
  EXPECT_EQ(*ParseSignal("9"), 9);
  EXPECT_EQ(*ParseSignal("RTMIN+1"), SIGRTMIN + 1);
  EXPECT_FALSE(ParseSignal("NOPE").ok());
  EXPECT_FALSE(ParseSignal("0").ok());
}

}  // namespace
}  // namespace peapod::runtime
