#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <thread>

#include "github.com/containerd/cgroups/stats/v1/metrics.pb.h"
#include "gtest/gtest.h"
#include "shim/cli.h"
#include "shim/oom.h"
#include "shim/process.h"
#include "shim/reaper.h"
#include "shim/rootfs.h"
#include "shim/stats.h"
#include "shim/stdio.h"

namespace peapod::shim {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

TEST(FlagsTest, ParsesContainerdStartCommandLine) {
  absl::StatusOr<Flags> f =
      ParseFlags({"-namespace", "k8s.io", "-address", "/run/containerd/containerd.sock",
                  "-publish-binary", "/usr/bin/containerd", "-id", "abc", "-debug", "start"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->ns, "k8s.io");
  EXPECT_EQ(f->address, "/run/containerd/containerd.sock");
  EXPECT_EQ(f->publish_binary, "/usr/bin/containerd");
  EXPECT_EQ(f->id, "abc");
  EXPECT_TRUE(f->debug);
  EXPECT_EQ(f->action, "start");
}

TEST(FlagsTest, AcceptsDoubleDashAndEqualsAndRejectsUnknown) {
  absl::StatusOr<Flags> f = ParseFlags({"--id=x", "-bundle", "/b", "--namespace", "n", "delete"});
  ASSERT_TRUE(f.ok());
  EXPECT_EQ(f->id, "x");
  EXPECT_EQ(f->bundle, "/b");
  EXPECT_EQ(f->action, "delete");
  EXPECT_FALSE(ParseFlags({"-nope", "1"}).ok());
  EXPECT_FALSE(ParseFlags({"-id"}).ok());
  EXPECT_FALSE(ParseFlags({"start", "delete"}).ok());
}

TEST(FlagsTest, EmptyPublishBinaryAsPeapoddPassesIt) {
  absl::StatusOr<Flags> f =
      ParseFlags({"-namespace", "k8s.io", "-address", "/run/peapod/peapod.sock", "-publish-binary",
                  "", "-id", "p", "-debug", "start"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_EQ(f->publish_binary, "");
  EXPECT_TRUE(f->debug);
  EXPECT_EQ(f->action, "start");
  f = ParseFlags({"-publish-binary=", "-debug=false", "-id", "p", "delete"});
  ASSERT_TRUE(f.ok()) << f.status();
  EXPECT_FALSE(f->debug);
  EXPECT_EQ(f->action, "delete");
}

TEST(OomTest, ParsesTheOomKillCounterOfV1AndV2Files) {
  EXPECT_EQ(OomWatcher::ParseOomKill("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"), 3u);
  EXPECT_EQ(OomWatcher::ParseOomKill("low 0\nhigh 0\nmax 5\noom 2\noom_kill 2\n"), 2u);
  EXPECT_EQ(OomWatcher::ParseOomKill("oom_kill_disable 0\nunder_oom 0\n"), 0u);
  EXPECT_EQ(OomWatcher::ParseOomKill(""), 0u);
}

TEST(GroupTest, SocketPathIsStablePerGroupAndShort) {
  std::string a = GroupSocketPath("/run/peapod/s", "/c.sock", "ns", "pod1");
  EXPECT_EQ(a, GroupSocketPath("/run/peapod/s", "/c.sock", "ns", "pod1"));
  EXPECT_NE(a, GroupSocketPath("/run/peapod/s", "/c.sock", "ns", "pod2"));
  EXPECT_NE(a, GroupSocketPath("/run/peapod/s", "/c.sock", "other", "pod1"));
  EXPECT_NE(a, GroupSocketPath("/run/peapod/s", "/d.sock", "ns", "pod1"));
  EXPECT_EQ(a.size(), std::string("/run/peapod/s/").size() + 32);
}

TEST(GroupTest, SandboxAnnotationGroupsElseTaskId) {
  char tmpl[] = "/tmp/shim-group-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  EXPECT_EQ(GroupOf(dir, "task1"), "task1");  // no config.json
  std::ofstream(dir + "/config.json")
      << R"({"ociVersion":"1.0.2","annotations":{"io.kubernetes.cri.sandbox-id":"sb9"}})";
  EXPECT_EQ(GroupOf(dir, "task1"), "sb9");
  std::ofstream(dir + "/config.json") << R"({"ociVersion":"1.0.2"})";
  EXPECT_EQ(GroupOf(dir, "task1"), "task1");
  fs::remove_all(dir);
}

TEST(MountOptionsTest, SplitsFlagsPropagationAndData) {
  unsigned long flags, prop;
  std::string data;
  ParseMountOptions({"ro", "rbind", "nosuid", "rprivate", "lowerdir=/a:/b", "upperdir=/u"}, &flags,
                    &prop, &data);
  EXPECT_EQ(flags, static_cast<unsigned long>(MS_RDONLY | MS_BIND | MS_REC | MS_NOSUID));
  EXPECT_EQ(prop, static_cast<unsigned long>(MS_PRIVATE | MS_REC));
  EXPECT_EQ(data, "lowerdir=/a:/b,upperdir=/u");
  ParseMountOptions({"ro", "rw"}, &flags, &prop, &data);
  EXPECT_EQ(flags, 0u);
}

TEST(RootfsTest, BindMountsAndUnmounts) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root";
  char tmpl[] = "/tmp/shim-rootfs-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  fs::create_directories(dir + "/src");
  fs::create_directories(dir + "/rootfs");
  std::ofstream(dir + "/src/marker") << "x";
  ASSERT_TRUE(MountRootfs({{"bind", dir + "/src", {"rbind", "ro"}}}, dir + "/rootfs").ok());
  EXPECT_TRUE(fs::exists(dir + "/rootfs/marker"));
  EXPECT_LT(open((dir + "/rootfs/new").c_str(), O_CREAT | O_WRONLY, 0600), 0);  // read-only
  ASSERT_TRUE(UnmountRootfs(dir + "/rootfs").ok());
  EXPECT_FALSE(fs::exists(dir + "/rootfs/marker"));
  EXPECT_TRUE(UnmountRootfs(dir + "/rootfs").ok());  // nothing mounted is fine
  EXPECT_FALSE(MountRootfs({{"nosuchfs", "none", {}}}, dir + "/rootfs").ok());
  fs::remove_all(dir);
}

TEST(ProcessTest, StateMachineAndWait) {
  Process p("c", "", {});
  EXPECT_EQ(p.status().state, ProcState::kCreated);
  p.SetPid(42, ProcState::kCreated);
  EXPECT_TRUE(p.SetState(ProcState::kRunning));
  auto waiter = std::async(std::launch::async, [&] { return p.Wait(); });
  EXPECT_EQ(waiter.wait_for(50ms), std::future_status::timeout);
  p.SetExited(3, timespec{100, 5});
  ProcessStatus st = waiter.get();
  EXPECT_EQ(st.state, ProcState::kStopped);
  EXPECT_EQ(st.exit_status, 3u);
  EXPECT_EQ(st.exited_at.tv_sec, 100);
  // kStopped is final.
  EXPECT_FALSE(p.SetState(ProcState::kRunning));
  p.SetExited(9, timespec{200, 0});
  EXPECT_EQ(p.status().exit_status, 3u);
  EXPECT_STREQ(StateName(p.status().state), "stopped");
}

// One reaper per test binary: it owns SIGCHLD for the whole process.
Reaper* TheReaper() {
  static Reaper* r = Reaper::Start()->release();
  return r;
}

TEST(ReaperTest, RunReturnsExitCodes) {
  absl::StatusOr<Exit> e = TheReaper()->Run({{"sh", "-c", "exit 5"}});
  ASSERT_TRUE(e.ok()) << e.status();
  EXPECT_EQ(e->ExitCode(), 5);
  e = TheReaper()->Run({{"sh", "-c", "kill -9 $$"}});
  ASSERT_TRUE(e.ok());
  EXPECT_EQ(e->ExitCode(), 128 + SIGKILL);
  EXPECT_FALSE(TheReaper()->Run({{"/nonexistent/binary"}}).ok());
}

TEST(ReaperTest, WatchSeesOrphanedGrandchildExitEvenIfItCameFirst) {
  // The grandchild is reparented to us (subreaper) and exits before we
  // watch it: its exit must be kept for the later Watch.
  char tmpl[] = "/tmp/shim-reaper-XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  absl::StatusOr<Exit> e =
      TheReaper()->Run({{"sh", "-c", "sh -c 'sleep 0.1; exit 6' & echo $!"}, -1, fd});
  ASSERT_TRUE(e.ok());
  std::this_thread::sleep_for(500ms);  // the orphan (exits after 0.1 s) is reaped unwatched
  std::ifstream in(tmpl);
  pid_t pid = 0;
  in >> pid;
  ASSERT_GT(pid, 0);
  std::promise<int> code;
  TheReaper()->Watch(pid, [&](const Exit& x) { code.set_value(x.ExitCode()); });
  auto f = code.get_future();
  ASSERT_EQ(f.wait_for(5s), std::future_status::ready);
  EXPECT_EQ(f.get(), 6);
  close(fd);
  unlink(tmpl);
}

TEST(StdioTest, FifoOutputReachesReaderAndEndsWithTheWriter) {
  char tmpl[] = "/tmp/shim-stdio-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string out = dir + "/out";
  ASSERT_EQ(mkfifo(out.c_str(), 0600), 0);
  int reader = open(out.c_str(), O_RDONLY | O_NONBLOCK);  // containerd's end
  ASSERT_GE(reader, 0);
  absl::StatusOr<std::unique_ptr<Stdio>> io = Stdio::Open({"", out, "", false});
  ASSERT_TRUE(io.ok()) << io.status();
  ASSERT_GE((*io)->stdout_fd(), 0);
  absl::StatusOr<Exit> e =
      TheReaper()->Run({{"sh", "-c", "echo via-fifo"}, -1, (*io)->stdout_fd()});
  ASSERT_TRUE(e.ok());
  ASSERT_TRUE((*io)->AfterSpawn().ok());
  EXPECT_LT((*io)->stdout_fd(), 0);  // the shim no longer holds a writer
  char buf[64] = {};
  ssize_t n = read(reader, buf, sizeof(buf) - 1);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "via-fifo\n");
  close(reader);
  io->reset();
  fs::remove_all(dir);
}

// containerd's CloseIO can arrive while Start is spawning the process (ctr
// sends it as soon as its own stdin ends). The stdin fd the spawn is about
// to dup2 must still be open then; it used to be closed (EBADF in the child).
TEST(StdioTest, CloseStdinBeforeSpawnKeepsTheFdTheSpawnUses) {
  char tmpl[] = "/tmp/shim-stdio-XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string in = dir + "/in";
  ASSERT_EQ(mkfifo(in.c_str(), 0600), 0);
  absl::StatusOr<std::unique_ptr<Stdio>> io = Stdio::Open({in, "", "", false});
  ASSERT_TRUE(io.ok()) << io.status();
  int fd = (*io)->stdin_fd();
  ASSERT_GE(fd, 0);
  (*io)->CloseStdin();
  EXPECT_EQ((*io)->stdin_fd(), fd);
  EXPECT_GE(fcntl(fd, F_GETFD), 0) << "stdin fd closed under a spawn";
  ASSERT_TRUE((*io)->AfterSpawn().ok());
  EXPECT_LT((*io)->stdin_fd(), 0);  // dropped once the process has its own
  EXPECT_LT(fcntl(fd, F_GETFD), 0);
  io->reset();
  fs::remove_all(dir);
}

}  // namespace
}  // namespace peapod::shim

namespace peapod::shim {
namespace {

TEST(StatsTest, RuntimeStatsBecomeCgroupsMetrics) {
  absl::StatusOr<std::string> bytes = MetricsFromRuntimeStats(
      R"({"type":"stats","id":"c","data":{"cpu":{"usage":{"total":900,"percpu":[400,500],)"
      R"("kernel":100,"user":800},"throttling":{"periods":3}},"memory":{"usage":{"limit":1000,)"
      R"("usage":600,"max":700,"failcnt":1},"raw":{"cache":11,"rss":22}},)"
      R"("pids":{"current":2,"limit":50},"hugetlb":{"2MB":{"usage":5}}}})");
  ASSERT_TRUE(bytes.ok()) << bytes.status();
  io::containerd::cgroups::v1::Metrics m;
  ASSERT_TRUE(m.ParseFromString(*bytes));
  EXPECT_EQ(m.cpu().usage().total(), 900u);
  ASSERT_EQ(m.cpu().usage().per_cpu_size(), 2);
  EXPECT_EQ(m.cpu().usage().per_cpu(1), 500u);
  EXPECT_EQ(m.cpu().throttling().periods(), 3u);
  EXPECT_EQ(m.memory().usage().usage(), 600u);
  EXPECT_EQ(m.memory().usage().limit(), 1000u);
  EXPECT_EQ(m.memory().rss(), 22u);
  EXPECT_EQ(m.pids().current(), 2u);
  ASSERT_EQ(m.hugetlb_size(), 1);
  EXPECT_EQ(m.hugetlb(0).pagesize(), "2MB");
  EXPECT_FALSE(MetricsFromRuntimeStats("{}").ok());
  EXPECT_FALSE(MetricsFromRuntimeStats("not json").ok());
}

}  // namespace
}  // namespace peapod::shim
