// Tests against the real cgroup filesystems of this host (needs root).
// Every cgroup lives under /pea-test-<pid> and is removed in TearDown, which
// also checks that nothing is left in any hierarchy.
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "oci/cgroups/fs.h"
#include "oci/cgroups/manager.h"
#include "oci/cgroups/v1_manager.h"
#include "oci/cgroups/v2_manager.h"

namespace peapod::cgroups {
namespace {

// A forked child running `fn` and then _exit(); killed and reaped unless
// Wait() already reaped it.
class Child {
 public:
  template <typename Fn>
  explicit Child(Fn fn) {
    pid_ = fork();
    if (pid_ == 0) {
      fn();
      _exit(0);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // Waits for the child and returns its wait status.
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return status;
  }

 private:
  pid_t pid_ = -1;
};

void Sleepy() {
  for (;;) pause();
}

// A counter in shared memory that a child keeps incrementing.
struct SharedCounter {
  SharedCounter() {
    void* p = mmap(nullptr, sizeof(std::atomic<uint64_t>), PROT_READ | PROT_WRITE,
                   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    value = new (p) std::atomic<uint64_t>(0);
  }
  ~SharedCounter() { munmap(value, sizeof(*value)); }
  std::atomic<uint64_t>* value;
};

class CgroupTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root";
    auto host = DetectHost();
    ASSERT_TRUE(host.ok()) << host.status();
    host_ = *host;
    parent_ = absl::StrCat("/pea-test-", getpid());
    // Orphaned grandchildren come back to us, not to pid 1.
    ASSERT_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
  }

  void TearDown() override {
    if (parent_.empty()) return;
    std::vector<std::string> roots;
    for (const V1Hierarchy& h : host_.v1) roots.push_back(h.mountpoint + parent_);
    if (!host_.unified.empty()) roots.push_back(host_.unified + parent_);
    for (const std::string& dir : roots) {
      EXPECT_TRUE(RemoveTree(dir).ok()) << dir;
      EXPECT_FALSE(OpenDir(dir).ok()) << dir << " left behind";
    }
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
  }

  std::unique_ptr<Manager> Make(const std::string& name) {
    auto m = OpenOnHost(host_, absl::StrCat(parent_, "/", name));
    EXPECT_TRUE(m.ok()) << m.status();
    return m.ok() ? std::move(*m) : nullptr;
  }

  std::string V1Dir(const std::string& controller, const std::string& name) {
    const V1Hierarchy* h = FindV1(host_, controller);
    return h == nullptr ? "" : absl::StrCat(h->mountpoint, parent_, "/", name);
  }

  Host host_;
  std::string parent_;
};

TEST_F(CgroupTest, DetectsThisHostsLayout) {
  bool v1_memory = FindV1(host_, "memory") != nullptr;
  if (!host_.unified.empty() && v1_memory) {
    EXPECT_EQ(host_.mode, Mode::kHybrid);
  } else if (v1_memory) {
    EXPECT_EQ(host_.mode, Mode::kLegacy);
  } else {
    EXPECT_EQ(host_.mode, Mode::kUnified);
  }
  // This VM: v1 controllers plus cgroup2 at /sys/fs/cgroup/unified.
  if (host_.unified == "/sys/fs/cgroup/unified") {
    EXPECT_EQ(host_.mode, Mode::kHybrid);
  }
}

TEST_F(CgroupTest, CreateApplyPidsDestroy) {
  auto m = Make("c1");
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->Path(), parent_ + "/c1");
  EXPECT_FALSE(m->Exists());
  ASSERT_TRUE(m->Create().ok());
  EXPECT_TRUE(m->Exists());
  std::map<std::string, std::string> paths = m->Paths();
  ASSERT_FALSE(paths.empty());
  if (host_.mode == Mode::kHybrid) {
    EXPECT_EQ(paths.at("unified"), host_.unified + parent_ + "/c1");
  }
  Child child(Sleepy);
  ASSERT_TRUE(m->Apply(child.pid()).ok());
  for (const auto& [name, dir] : paths) {
    auto procs = ReadTrimmed(dir, "cgroup.procs");
    ASSERT_TRUE(procs.ok()) << procs.status();
    EXPECT_EQ(*procs, absl::StrCat(child.pid())) << name;
  }
  auto pids = m->Pids();
  ASSERT_TRUE(pids.ok()) << pids.status();
  EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
  ASSERT_TRUE(m->Destroy(/*kill=*/true).ok());
  EXPECT_TRUE(WIFSIGNALED(child.Wait()));
  for (const auto& [name, dir] : paths) EXPECT_FALSE(OpenDir(dir).ok()) << dir;
  EXPECT_TRUE(m->Destroy(true).ok());  // idempotent
}

TEST_F(CgroupTest, JoinHandlesPlaceANewProcessInEveryHierarchy) {
  auto m = Make("join");
  ASSERT_NE(m, nullptr);
  ASSERT_TRUE(m->Create().ok());
  absl::StatusOr<JoinHandles> handles = m->OpenJoinHandles();
  ASSERT_TRUE(handles.ok()) << handles.status();
  EXPECT_EQ(handles->v1_tasks.size(), host_.v1.size());
  EXPECT_EQ(handles->v2_dir >= 0, !host_.unified.empty());
  // As the launcher's init: born in the cgroup2 dir, then "0" into every
  // v1 tasks file; it reports on a pipe and waits to be killed.
  int ready[2];
  ASSERT_EQ(pipe2(ready, O_CLOEXEC), 0);
  struct clone_args args = {};
  args.exit_signal = SIGCHLD;
  if (handles->v2_dir >= 0) {
    args.flags = CLONE_INTO_CGROUP;
    args.cgroup = static_cast<uint64_t>(handles->v2_dir);
  }
  long pid = syscall(SYS_clone3, &args, sizeof args);
  ASSERT_GE(pid, 0) << strerror(errno);
  if (pid == 0) {
    char ok = JoinSelf(handles->v1_tasks).ok() ? '1' : '0';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    Sleepy();
  }
  close(ready[1]);
  char ok = 0;
  ASSERT_EQ(read(ready[0], &ok, 1), 1);
  close(ready[0]);
  EXPECT_EQ(ok, '1');
  for (const auto& [name, dir] : m->Paths()) {
    auto procs = ReadTrimmed(dir, "cgroup.procs");
    ASSERT_TRUE(procs.ok()) << procs.status();
    EXPECT_EQ(*procs, absl::StrCat(pid)) << name;
  }
  handles->Close();
  EXPECT_TRUE(handles->v1_tasks.empty());
  ASSERT_TRUE(m->Destroy(/*kill=*/true).ok());
  int status = 0;
  ASSERT_EQ(waitpid(static_cast<pid_t>(pid), &status, 0), pid);
  EXPECT_TRUE(WIFSIGNALED(status));
}

TEST_F(CgroupTest, OpenResolvesTheSamePaths) {
  auto a = Open(parent_ + "/same", "ignored");
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Make("same");
  EXPECT_EQ((*a)->Paths(), b->Paths());
  EXPECT_EQ((*a)->mode(), host_.mode);
  auto def = Open("", "ctr");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ((*def)->Path(), "/pea/ctr");
  EXPECT_EQ(Open("/../etc", "x").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Open("a:b:c", "x").status().code(), absl::StatusCode::kInvalidArgument);
}

// With the layout cached (the shim), Open gives the same managers as before;
// the run after it in this process uses the cache too.
TEST_F(CgroupTest, CachedLayoutOpensTheSamePaths) {
  auto before = Open(parent_ + "/cached", "ignored");
  ASSERT_TRUE(before.ok()) << before.status();
  CacheHostLayout();
  for (int i = 0; i < 2; ++i) {
    auto after = Open(parent_ + "/cached", "ignored");
    ASSERT_TRUE(after.ok()) << after.status();
    EXPECT_EQ((*after)->Paths(), (*before)->Paths());
    EXPECT_EQ((*after)->mode(), host_.mode);
  }
  EXPECT_EQ(Open("/../etc", "x").status().code(), absl::StatusCode::kInvalidArgument);
}

std::string Read(const std::string& dir, const std::string& file) {
  auto v = ReadTrimmed(dir, file);
  EXPECT_TRUE(v.ok()) << v.status();
  return v.value_or("");
}

TEST_F(CgroupTest, MemoryLimitReservationSwappiness) {
  auto m = Make("mem");
  ASSERT_TRUE(m->Create().ok());
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 64 << 20;
  r.memory->reservation = 32 << 20;
  r.memory->swappiness = 10;
  absl::Status st = m->Set(r);
  ASSERT_TRUE(st.ok()) << st;
  std::string dir = V1Dir("memory", "mem");
  if (dir.empty()) GTEST_SKIP() << "no v1 memory controller";
  EXPECT_EQ(Read(dir, "memory.limit_in_bytes"), absl::StrCat(64 << 20));
  EXPECT_EQ(Read(dir, "memory.soft_limit_in_bytes"), absl::StrCat(32 << 20));
  EXPECT_EQ(Read(dir, "memory.swappiness"), "10");
  auto stats = m->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->memory.limit, uint64_t{64} << 20);
  r.memory->swappiness = 101;
  EXPECT_EQ(m->Set(r).code(), absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(m->Destroy(false).ok());
}

TEST_F(CgroupTest, SwapIsWrittenInTheRightOrder) {
  std::string dir = V1Dir("memory", "swap");
  if (dir.empty() ||
      !FileExists(FindV1(host_, "memory")->mountpoint, "memory.memsw.limit_in_bytes")) {
    GTEST_SKIP() << "no v1 swap accounting";
  }
  auto m = Make("swap");
  ASSERT_TRUE(m->Create().ok());
  auto set = [&](int64_t limit, int64_t swap) {
    oci::Resources r;
    r.memory = oci::Memory{};
    r.memory->limit = limit;
    r.memory->swap = swap;
    return m->Set(r);
  };
  // Start: limit 64M, memsw 128M; then lower both below the old limit, then
  // raise both above the old memsw: each order fails if written wrongly.
  ASSERT_TRUE(set(64 << 20, 128 << 20).ok());
  EXPECT_EQ(Read(dir, "memory.memsw.limit_in_bytes"), absl::StrCat(128 << 20));
  absl::Status st = set(16 << 20, 32 << 20);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Read(dir, "memory.limit_in_bytes"), absl::StrCat(16 << 20));
  EXPECT_EQ(Read(dir, "memory.memsw.limit_in_bytes"), absl::StrCat(32 << 20));
  st = set(256 << 20, 512 << 20);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Read(dir, "memory.limit_in_bytes"), absl::StrCat(256 << 20));
  EXPECT_EQ(Read(dir, "memory.memsw.limit_in_bytes"), absl::StrCat(512 << 20));
  EXPECT_EQ(set(64 << 20, 32 << 20).code(), absl::StatusCode::kInvalidArgument);
  // Unlimited memory lifts memsw too (it must stay >= the memory limit).
  oci::Resources unlimited;
  unlimited.memory = oci::Memory{};
  unlimited.memory->limit = -1;
  st = m->Set(unlimited);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Read(dir, "memory.memsw.limit_in_bytes"), Read(dir, "memory.limit_in_bytes"));
  EXPECT_TRUE(m->Destroy(false).ok());
}

TEST_F(CgroupTest, CpuSharesQuotaAndCpusetInNestedPath) {
  auto m = Make("a/b/cpu");  // intermediate cpusets must be initialised
  ASSERT_TRUE(m->Create().ok());
  oci::Resources r;
  r.cpu = oci::Cpu{};
  r.cpu->shares = 512;
  r.cpu->quota = 50000;
  r.cpu->period = 200000;
  r.cpu->cpus = "0";
  r.cpu->mems = "0";
  absl::Status st = m->Set(r);
  ASSERT_TRUE(st.ok()) << st;
  std::string cpu = V1Dir("cpu", "a/b/cpu"), cpuset = V1Dir("cpuset", "a/b/cpu");
  if (cpu.empty() || cpuset.empty()) GTEST_SKIP() << "no v1 cpu/cpuset";
  EXPECT_EQ(Read(cpu, "cpu.shares"), "512");
  EXPECT_EQ(Read(cpu, "cpu.cfs_quota_us"), "50000");
  EXPECT_EQ(Read(cpu, "cpu.cfs_period_us"), "200000");
  EXPECT_EQ(Read(cpuset, "cpuset.cpus"), "0");
  EXPECT_EQ(Read(cpuset, "cpuset.mems"), "0");
  EXPECT_FALSE(Read(V1Dir("cpuset", "a"), "cpuset.cpus").empty());
  // A child can join (an uninitialised cpuset would refuse it with ENOSPC).
  Child child(Sleepy);
  st = m->Apply(child.pid());
  EXPECT_TRUE(st.ok()) << st;
  // Quota -1 removes the limit.
  r.cpu = oci::Cpu{};
  r.cpu->quota = -1;
  ASSERT_TRUE(m->Set(r).ok());
  EXPECT_EQ(Read(cpu, "cpu.cfs_quota_us"), "-1");
  EXPECT_TRUE(m->Destroy(true).ok());
}

TEST_F(CgroupTest, PidsLimitIsEnforced) {
  if (V1Dir("pids", "x").empty() && host_.mode != Mode::kUnified) GTEST_SKIP() << "no pids";
  auto m = Make("pids");
  ASSERT_TRUE(m->Create().ok());
  oci::Resources r;
  r.pids = oci::Pids{4};
  ASSERT_TRUE(m->Set(r).ok());
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  // The child forks until fork fails; it exits with the number of forks that
  // worked, or 100 if a fork failed with anything but EAGAIN.
  Child child([&] {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(99);
    std::vector<pid_t> kids;
    int code = 98;
    for (int i = 0; i < 20; ++i) {
      pid_t p = fork();
      if (p == 0) Sleepy();
      if (p < 0) {
        code = errno == EAGAIN ? static_cast<int>(kids.size()) : 100;
        break;
      }
      kids.push_back(p);
    }
    for (pid_t k : kids) kill(k, SIGKILL);
    for (pid_t k : kids) waitpid(k, nullptr, 0);
    _exit(code);
  });
  ASSERT_TRUE(m->Apply(child.pid()).ok());
  auto stats = m->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->pids.current, 1u);
  EXPECT_EQ(stats->pids.limit, 4u);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status = child.Wait();
  close(go[0]);
  close(go[1]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 3);  // the child itself + 3 = pids.max
  EXPECT_TRUE(m->Destroy(true).ok());
}

TEST_F(CgroupTest, OomKillIsCounted) {
  auto m = Make("oom");
  ASSERT_TRUE(m->Create().ok());
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 32 << 20;
  r.memory->swap = 32 << 20;  // no swap either
  ASSERT_TRUE(m->Set(r).ok());
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  Child child([&] {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(99);
    const size_t size = 256 << 20;
    auto* p = static_cast<char*>(
        mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    if (p == MAP_FAILED) _exit(98);
    for (size_t i = 0; i < size; i += 4096) p[i] = 1;
    _exit(0);
  });
  ASSERT_TRUE(m->Apply(child.pid()).ok());
  auto before = m->OomKillCount();
  ASSERT_TRUE(before.ok()) << before.status();
  EXPECT_EQ(*before, 0u);
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status = child.Wait();
  close(go[0]);
  close(go[1]);
  ASSERT_TRUE(WIFSIGNALED(status)) << status;
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto after = m->OomKillCount();
  ASSERT_TRUE(after.ok()) << after.status();
  EXPECT_EQ(*after, 1u);
  auto stats = m->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->memory.oom_kill_count, 1u);
  EXPECT_GE(stats->memory.max_usage, uint64_t{30} << 20);
  EXPECT_TRUE(m->Destroy(true).ok());
}

// Freezes `m` with a counting child inside and checks the counter stops.
void ExpectFreezeThaw(Manager* m) {
  SharedCounter counter;
  Child child([&] {
    for (;;) counter.value->fetch_add(1);
  });
  ASSERT_TRUE(m->Apply(child.pid()).ok());
  while (counter.value->load() == 0) std::this_thread::yield();
  ASSERT_EQ(m->GetFreezerState().value(), FreezerState::kThawed);
  absl::Status st = m->Freeze();
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(m->GetFreezerState().value(), FreezerState::kFrozen);
  uint64_t frozen_at = counter.value->load();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_EQ(counter.value->load(), frozen_at);
  st = m->Thaw();
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(m->GetFreezerState().value(), FreezerState::kThawed);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (counter.value->load() == frozen_at && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  EXPECT_GT(counter.value->load(), frozen_at);
  // Destroy(kill) of a frozen cgroup must still work.
  ASSERT_TRUE(m->Freeze().ok());
  st = m->Destroy(true);
  EXPECT_TRUE(st.ok()) << st;
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
}

TEST_F(CgroupTest, FreezeThawHostManager) {
  auto m = Make("freeze");
  ASSERT_TRUE(m->Create().ok());
  ExpectFreezeThaw(m.get());
}

TEST_F(CgroupTest, FreezeThawV2OnUnifiedMount) {
  if (host_.unified.empty()) GTEST_SKIP() << "no cgroup2 mount";
  V2Manager m(host_.unified, parent_ + "/v2freeze");
  ASSERT_TRUE(m.Create().ok());
  ExpectFreezeThaw(&m);
  EXPECT_FALSE(m.Exists());
}

TEST_F(CgroupTest, V2KillAndPidsOnUnifiedMount) {
  if (host_.unified.empty()) GTEST_SKIP() << "no cgroup2 mount";
  V2Manager m(host_.unified, parent_ + "/v2kill");
  ASSERT_TRUE(m.Create().ok());
  int go[2], ready[2];
  ASSERT_EQ(pipe(go), 0);
  ASSERT_EQ(pipe(ready), 0);
  Child child([&] {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(99);
    if (fork() == 0) Sleepy();  // a grandchild, reparented when we die
    if (write(ready[1], "x", 1) != 1) _exit(99);
    Sleepy();
  });
  absl::Status applied = m.Apply(child.pid());
  ASSERT_EQ(write(go[1], "x", 1), 1);  // before any ASSERT can leave the child blocked
  ASSERT_TRUE(applied.ok()) << applied;
  char c;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  for (int fd : {go[0], go[1], ready[0], ready[1]}) close(fd);
  auto listed = m.Pids();
  ASSERT_TRUE(listed.ok()) << listed.status();
  std::vector<pid_t> pids = *listed;
  ASSERT_EQ(pids.size(), 2u);
  EXPECT_NE(std::find(pids.begin(), pids.end(), child.pid()), pids.end());
  auto stats = m.GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  absl::Status st = m.Destroy(true);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_FALSE(m.Exists());
  const pid_t child_pid = child.pid();
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
  // We are the subreaper, so the orphaned grandchild is ours to reap.
  for (pid_t p : pids) {
    if (p == child_pid) continue;
    ASSERT_EQ(waitpid(p, &status, 0), p) << strerror(errno);
    EXPECT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << p;
  }
}

TEST_F(CgroupTest, V2WithoutControllersNamesTheMissingOne) {
  if (host_.mode != Mode::kHybrid) GTEST_SKIP() << "needs a controller-less cgroup2 mount";
  V2Manager m(host_.unified, parent_ + "/v2bare");
  ASSERT_TRUE(m.Create().ok());
  oci::Resources r;
  r.memory = oci::Memory{};
  r.memory->limit = 1 << 20;
  absl::Status st = m.Set(r);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("memory controller"), absl::string_view::npos) << st;
  st = m.SetUnified({{"pids.max", "10"}});
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("pids"), absl::string_view::npos) << st;
  st = m.SetUnified({{"../cgroup.procs", "1"}});
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "linux.resources.unified: invalid key \"../cgroup.procs\"");
  ASSERT_TRUE(m.SetUnified({{"cgroup.max.depth", "3"}}).ok());
  EXPECT_EQ(Read(m.dir(), "cgroup.max.depth"), "3");
  EXPECT_EQ(m.OomKillCount().status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_TRUE(m.Destroy(false).ok());
}

TEST_F(CgroupTest, UnifiedMapOnThisHost) {
  auto m = Make("unified");
  ASSERT_TRUE(m->Create().ok());
  oci::Resources r;
  r.unified["../cgroup.procs"] = "1";
  absl::Status st = m->Set(r);
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "linux.resources.unified: invalid key \"../cgroup.procs\"");
  if (host_.mode == Mode::kHybrid) {
    r.unified.clear();
    r.unified["memory.max"] = "1048576";
    st = m->Set(r);
    EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(st.message().find("memory"), absl::string_view::npos) << st;
  }
  EXPECT_TRUE(m->Destroy(false).ok());
}

TEST_F(CgroupTest, DeviceRulesV1) {
  if (V1Dir("devices", "x").empty()) GTEST_SKIP() << "no v1 devices controller";
  auto m = Make("dev");
  ASSERT_TRUE(m->Create().ok());
  oci::Resources r;
  oci::DeviceCgroupRule deny_all;
  deny_all.access = "rwm";
  oci::DeviceCgroupRule null;
  null.allow = true;
  null.type = "c";
  null.major = 1;
  null.minor = 3;
  null.access = "rwm";
  r.devices = {deny_all, null};
  absl::Status st = m->Set(r);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(Read(V1Dir("devices", "dev"), "devices.list"), "c 1:3 rwm");
  int go[2];
  ASSERT_EQ(pipe(go), 0);
  Child child([&] {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(99);
    int null_fd = open("/dev/null", O_RDWR);
    int zero_fd = open("/dev/zero", O_RDONLY);
    _exit(null_fd >= 0 && zero_fd < 0 && errno == EPERM ? 0 : 1);
  });
  ASSERT_TRUE(m->Apply(child.pid()).ok());
  ASSERT_EQ(write(go[1], "x", 1), 1);
  int status = child.Wait();
  close(go[0]);
  close(go[1]);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_TRUE(m->Destroy(true).ok());
}

TEST_F(CgroupTest, MissingControllerIsNamed) {
  if (FindV1(host_, "hugetlb") != nullptr || host_.mode == Mode::kUnified) {
    GTEST_SKIP() << "hugetlb is available here";
  }
  auto m = Make("huge");
  ASSERT_TRUE(m->Create().ok());
  oci::Resources r;
  r.hugepage_limits = {{"2MB", 1 << 21}};
  absl::Status st = m->Set(r);
  EXPECT_EQ(st.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_NE(st.message().find("hugetlb"), absl::string_view::npos) << st;
  EXPECT_TRUE(m->Destroy(false).ok());
}

TEST_F(CgroupTest, StatsCountCpuAndMemory) {
  auto m = Make("stats");
  ASSERT_TRUE(m->Create().ok());
  int done[2];
  ASSERT_EQ(pipe(done), 0);
  Child child([&] {
    std::vector<char> mem(8 << 20, 1);  // touch some memory
    auto end = std::chrono::steady_clock::now() + std::chrono::milliseconds(100);
    volatile uint64_t spin = 0;
    while (std::chrono::steady_clock::now() < end) spin = spin + mem[spin % mem.size()];
    if (write(done[1], "x", 1) != 1) _exit(99);
    Sleepy();
  });
  ASSERT_TRUE(m->Apply(child.pid()).ok());
  char c;
  ASSERT_EQ(read(done[0], &c, 1), 1);
  close(done[0]);
  close(done[1]);
  auto stats = m->GetStats();
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_GT(stats->cpu.total_ns, 0u);
  EXPECT_GT(stats->cpu.user_ns + stats->cpu.kernel_ns, 0u);
  if (host_.mode != Mode::kUnified) {
    EXPECT_EQ(stats->cpu.percpu_ns.size(), static_cast<size_t>(sysconf(_SC_NPROCESSORS_CONF)));
    EXPECT_GT(stats->memory.usage, 0u);
    EXPECT_FALSE(stats->memory.raw.empty());
  }
  EXPECT_EQ(stats->pids.current, 1u);
  EXPECT_EQ(stats->pids.limit, 0u);
  EXPECT_TRUE(m->Destroy(true).ok());
}

TEST_F(CgroupTest, DestroyRemovesSubCgroupsLeafFirst) {
  auto m = Make("tree");
  ASSERT_TRUE(m->Create().ok());
  Child child(Sleepy);
  ASSERT_TRUE(m->Apply(child.pid()).ok());
  // A container with its own cgroup namespace may make sub-cgroups.
  for (const auto& [name, dir] : m->Paths()) {
    auto made = MakeDirs(dir, "sub/deeper");
    ASSERT_TRUE(made.ok()) << made.status();
  }
  std::string pids_dir = V1Dir("pids", "tree/sub/deeper");
  if (!pids_dir.empty()) {
    ASSERT_TRUE(WriteFile(pids_dir, "cgroup.procs", absl::StrCat(child.pid())).ok());
    auto pids = m->Pids();
    ASSERT_TRUE(pids.ok());
    EXPECT_EQ(*pids, std::vector<pid_t>{child.pid()});
  }
  absl::Status st = m->Destroy(true);
  ASSERT_TRUE(st.ok()) << st;
  for (const auto& [name, dir] : m->Paths()) EXPECT_FALSE(OpenDir(dir).ok()) << dir;
  int status = child.Wait();
  EXPECT_TRUE(WIFSIGNALED(status));
}

oci::DeviceCgroupRule CharRule(bool allow, std::optional<int64_t> major,
                               std::optional<int64_t> minor, std::string access) {
  oci::DeviceCgroupRule r;
  r.allow = allow;
  r.type = major.has_value() ? "c" : "";
  r.major = major;
  r.minor = minor;
  r.access = std::move(access);
  return r;
}

// Forks a child into `m` that tries open(path, flags) for each probe and
// returns a bitmask of the probes that failed with EPERM.
int ProbeDevices(Manager* m, const std::vector<std::pair<const char*, int>>& probes) {
  int go[2];
  if (pipe(go) != 0) return -1;
  Child child([&] {
    char c;
    if (read(go[0], &c, 1) != 1) _exit(99);
    int denied = 0;
    for (size_t i = 0; i < probes.size(); ++i) {
      int fd = open(probes[i].first, probes[i].second | O_CLOEXEC);
      if (fd < 0 && errno == EPERM) denied |= 1 << i;
      if (fd >= 0) close(fd);
    }
    _exit(denied);
  });
  absl::Status st = m->Apply(child.pid());
  EXPECT_TRUE(st.ok()) << st;
  EXPECT_EQ(write(go[1], "x", 1), 1);
  int status = child.Wait();
  close(go[0]);
  close(go[1]);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_F(CgroupTest, V2DeviceFilterOnUnifiedMount) {
  if (host_.unified.empty()) GTEST_SKIP() << "no cgroup2 mount";
  V2Manager m(host_.unified, parent_ + "/v2dev");
  ASSERT_TRUE(m.Create().ok());
  oci::Resources r;
  // Deny all; /dev/null (1:3) read-write; /dev/zero (1:5) read-only.
  r.devices = {CharRule(false, std::nullopt, std::nullopt, "rwm"), CharRule(true, 1, 3, "rwm"),
               CharRule(true, 1, 5, "r")};
  absl::Status st = m.Set(r);
  ASSERT_TRUE(st.ok()) << st;
  std::vector<std::pair<const char*, int>> probes = {{"/dev/null", O_RDWR},
                                                     {"/dev/zero", O_RDONLY},
                                                     {"/dev/zero", O_WRONLY},
                                                     {"/dev/full", O_RDONLY}};
  EXPECT_EQ(ProbeDevices(&m, probes), 0b1100);
  // An update replaces the rules rather than stacking them: /dev/full is now
  // the only device, which the old program would still refuse.
  r.devices = {CharRule(false, std::nullopt, std::nullopt, "rwm"), CharRule(true, 1, 7, "rw")};
  st = m.Set(r);
  ASSERT_TRUE(st.ok()) << st;
  EXPECT_EQ(ProbeDevices(&m, probes), 0b0111);
  EXPECT_TRUE(m.Destroy(true).ok());
}

}  // namespace
}  // namespace peapod::cgroups
