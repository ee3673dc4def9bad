#include "oci/cgroups/v1_manager.h"

#include <fcntl.h>
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "oci/cgroups/convert.h"
#include "oci/cgroups/fs.h"

namespace peapod::cgroups {
namespace {

std::string Parent(const std::string& dir) { return dir.substr(0, dir.rfind('/')); }

// A new v1 cpuset starts with empty cpus/mems and refuses tasks until they
// are set: copy them from the parent.
absl::Status InitCpuset(const std::string& dir) {
  for (absl::string_view file : {"cpuset.cpus", "cpuset.mems"}) {
    auto own = ReadTrimmed(dir, file);
    if (!own.ok()) return own.status();
    if (!own->empty()) continue;
    auto parent = ReadTrimmed(Parent(dir), file);
    if (!parent.ok()) return parent.status();
    if (auto st = WriteFile(dir, file, *parent); !st.ok()) return st;
  }
  return absl::OkStatus();
}

}  // namespace

V1Manager::V1Manager(const Host& host, std::string path) : Manager(std::move(path)) {
  for (const V1Hierarchy& h : host.v1) {
    hierarchies_.push_back({h.controllers, h.mountpoint, h.mountpoint + Path()});
  }
}

std::map<std::string, std::string> V1Manager::Paths() const {
  std::map<std::string, std::string> out;
  for (const Hierarchy& h : hierarchies_) out[absl::StrJoin(h.controllers, ",")] = h.dir;
  return out;
}

std::string V1Manager::Dir(absl::string_view controller) const {
  for (const Hierarchy& h : hierarchies_) {
    if (std::find(h.controllers.begin(), h.controllers.end(), controller) != h.controllers.end()) {
      return h.dir;
    }
  }
  return "";
}

absl::StatusOr<std::string> V1Manager::Need(absl::string_view controller,
                                            absl::string_view what) const {
  std::string dir = Dir(controller);
  if (dir.empty()) {
    return absl::FailedPreconditionError(absl::StrCat(
        what, ": the ", controller, " cgroup controller is not available on this host"));
  }
  return dir;
}

absl::Status V1Manager::Create() {
  for (const Hierarchy& h : hierarchies_) {
    auto created = MakeDirs(h.mountpoint, Path());
    if (!created.ok()) return created.status();
    if (std::find(h.controllers.begin(), h.controllers.end(), "cpuset") == h.controllers.end()) {
      continue;
    }
    for (const std::string& dir : *created) {
      if (auto st = InitCpuset(dir); !st.ok()) return st;
    }
    if (auto st = InitCpuset(h.dir); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::Status V1Manager::Apply(pid_t pid) {
  for (const Hierarchy& h : hierarchies_) {
    if (auto st = WriteFile(h.dir, "cgroup.procs", absl::StrCat(pid)); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<JoinHandles> V1Manager::OpenJoinHandles() const {
  JoinHandles handles;
  for (const Hierarchy& h : hierarchies_) {
    auto fd = OpenFileIn(h.dir, "tasks", O_WRONLY);
    if (!fd.ok()) return fd.status();
    handles.v1_tasks.push_back(fd->Release());
  }
  return handles;
}

absl::Status V1Manager::Set(const oci::Resources& r) {
  if (!r.unified.empty()) {
    return absl::FailedPreconditionError(
        "linux.resources.unified needs cgroup v2, and this host has only cgroup v1");
  }
  auto run = [&](absl::string_view controller, absl::string_view what, auto&& fn) -> absl::Status {
    auto dir = Need(controller, what);
    if (!dir.ok()) return dir.status();
    return fn(*dir);
  };
  absl::Status st;
  if (r.memory.has_value()) {
    st.Update(run("memory", "linux.resources.memory",
                  [&](const std::string& d) { return SetV1Memory(d, *r.memory); }));
  }
  if (st.ok() && r.cpu.has_value()) {
    const oci::Cpu& c = *r.cpu;
    if (c.shares.value_or(0) != 0 || c.quota.value_or(0) != 0 || c.period.value_or(0) != 0 ||
        c.idle.has_value() || c.realtime_period.value_or(0) != 0 ||
        c.realtime_runtime.value_or(0) != 0) {
      st.Update(
          run("cpu", "linux.resources.cpu", [&](const std::string& d) { return SetV1Cpu(d, c); }));
    }
    if (st.ok() && (!r.cpu->cpus.empty() || !r.cpu->mems.empty())) {
      st.Update(run("cpuset", "linux.resources.cpu.cpus/mems",
                    [&](const std::string& d) { return SetV1Cpuset(d, *r.cpu); }));
    }
  }
  if (st.ok() && r.pids.has_value()) {
    st.Update(run("pids", "linux.resources.pids", [&](const std::string& d) {
      return WriteFile(d, "pids.max", PidsMaxValue(r.pids->limit));
    }));
  }
  if (st.ok() && r.block_io.has_value()) {
    st.Update(run("blkio", "linux.resources.blockIO",
                  [&](const std::string& d) { return SetV1BlockIo(d, *r.block_io); }));
  }
  if (st.ok() && !r.hugepage_limits.empty()) {
    st.Update(run("hugetlb", "linux.resources.hugepageLimits",
                  [&](const std::string& d) { return SetV1Hugetlb(d, r.hugepage_limits); }));
  }
  if (st.ok() && !r.devices.empty()) {
    st.Update(run("devices", "linux.resources.devices",
                  [&](const std::string& d) { return SetV1Devices(d, r.devices); }));
  }
  return st;
}

absl::StatusOr<Stats> V1Manager::GetStats() {
  Stats stats;
  absl::Status st;
  if (std::string d = Dir("memory"); !d.empty()) st.Update(ReadV1MemoryStats(d, &stats));
  if (std::string d = Dir("cpuacct"); !d.empty()) st.Update(ReadV1CpuacctStats(d, &stats));
  if (std::string d = Dir("cpu"); !d.empty()) st.Update(ReadV1CpuStats(d, &stats));
  if (std::string d = Dir("pids"); !d.empty()) {
    auto cur = ReadUint(d, "pids.current");
    auto max = ReadUint(d, "pids.max");
    st.Update(cur.status());
    st.Update(max.status());
    if (cur.ok()) stats.pids.current = *cur;
    if (max.ok()) stats.pids.limit = *max == UINT64_MAX ? 0 : *max;
  }
  if (std::string d = Dir("hugetlb"); !d.empty()) st.Update(ReadV1HugetlbStats(d, &stats));
  if (!st.ok()) return st;
  return stats;
}

absl::Status V1Manager::SetFreezer(absl::string_view want) {
  auto dir = Need("freezer", "pause/resume");
  if (!dir.ok()) return dir.status();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    // Re-writing nudges tasks that were busy when the first request came.
    if (auto st = WriteFile(*dir, "freezer.state", want); !st.ok()) return st;
    auto state = ReadTrimmed(*dir, "freezer.state");
    if (!state.ok()) return state.status();
    if (*state == want) return absl::OkStatus();
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(*dir, "/freezer.state: still ", *state, " after 5s, wanted ", want));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

absl::Status V1Manager::Freeze() {
  absl::Status st = SetFreezer("FROZEN");
  if (!st.ok() && absl::IsDeadlineExceeded(st)) SetFreezer("THAWED").IgnoreError();
  return st;
}

absl::Status V1Manager::Thaw() { return SetFreezer("THAWED"); }

absl::StatusOr<FreezerState> V1Manager::GetFreezerState() {
  auto dir = Need("freezer", "pause state");
  if (!dir.ok()) return dir.status();
  auto state = ReadTrimmed(*dir, "freezer.state");
  if (!state.ok()) return state.status();
  return *state == "FROZEN" ? FreezerState::kFrozen : FreezerState::kThawed;
}

const std::string& V1Manager::PidsDir() const {
  for (absl::string_view c : {"pids", "freezer", "memory", "cpu"}) {
    for (const Hierarchy& h : hierarchies_) {
      if (std::find(h.controllers.begin(), h.controllers.end(), c) != h.controllers.end()) {
        return h.dir;
      }
    }
  }
  return hierarchies_.front().dir;
}

absl::StatusOr<std::vector<pid_t>> V1Manager::Pids() {
  if (hierarchies_.empty()) return absl::FailedPreconditionError("no cgroup v1 hierarchy mounted");
  return ReadProcsRecursive(PidsDir());
}

absl::StatusOr<uint64_t> V1Manager::OomKillCount() {
  auto dir = Need("memory", "OOM kill count");
  if (!dir.ok()) return dir.status();
  auto text = ReadFile(*dir, "memory.oom_control");
  if (!text.ok()) return text.status();
  return KeyValue(*text, "oom_kill");
}

absl::Status V1Manager::KillAll() {
  // Frozen tasks cannot fork while we collect their pids, so one round
  // normally suffices; the killed tasks die once thawed.
  bool freezer = !Dir("freezer").empty() && Exists();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto pids = Pids();
    if (!pids.ok()) return absl::IsNotFound(pids.status()) ? absl::OkStatus() : pids.status();
    if (pids->empty()) return absl::OkStatus();
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("cgroup ", Path(), ": ", pids->size(), " processes survive SIGKILL"));
    }
    if (freezer) Freeze().IgnoreError();
    // Re-read once frozen: nothing can fork in between.
    auto frozen = freezer ? Pids() : pids;
    for (pid_t pid : frozen.ok() ? *frozen : *pids) kill(pid, SIGKILL);
    if (freezer) Thaw().IgnoreError();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

absl::Status V1Manager::Destroy(bool kill) {
  absl::Status first;
  if (kill) first.Update(KillAll());
  for (const Hierarchy& h : hierarchies_) first.Update(RemoveTree(h.dir));
  return first;
}

bool V1Manager::Exists() const { return !hierarchies_.empty() && OpenDir(PidsDir()).ok(); }

}  // namespace peapod::cgroups
