#include "oci/cgroups/v2_manager.h"

#include <chrono>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "oci/cgroups/convert.h"
#include "oci/cgroups/device_filter.h"
#include "oci/cgroups/fs.h"

namespace peapod::cgroups {
namespace {

bool Contains(absl::string_view list, absl::string_view word) {
  for (absl::string_view w : absl::StrSplit(list, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
    if (w == word) return true;
  }
  return false;
}

}  // namespace

V2Manager::V2Manager(std::string mountpoint, std::string path)
    : Manager(std::move(path)), mountpoint_(std::move(mountpoint)), dir_(mountpoint_ + Path()) {}

void V2Manager::EnableControllers() const {
  std::string dir = mountpoint_;
  std::vector<absl::string_view> comps = absl::StrSplit(Path(), '/', absl::SkipEmpty());
  for (size_t i = 0; i + 1 <= comps.size(); ++i) {
    auto available = ReadFile(dir, "cgroup.controllers");
    if (available.ok()) {
      for (absl::string_view c :
           absl::StrSplit(*available, absl::ByAnyChar(" \n"), absl::SkipEmpty())) {
        // One at a time: a controller the kernel refuses (e.g. cpu with
        // realtime tasks in the root) must not block the others; Set()
        // reports a missing controller when a limit needs it.
        WriteFile(dir, "cgroup.subtree_control", absl::StrCat("+", c)).IgnoreError();
      }
    }
    absl::StrAppend(&dir, "/", comps[i]);
  }
}

absl::Status V2Manager::Create() {
  auto created = MakeDirs(mountpoint_, Path());
  if (!created.ok()) return created.status();
  EnableControllers();
  return absl::OkStatus();
}

absl::StatusOr<int> V2Manager::OpenV2Dir() const {
  auto fd = OpenDir(dir_);
  if (!fd.ok()) return fd.status();
  return fd->Release();
}

absl::StatusOr<JoinHandles> V2Manager::OpenJoinHandles() const {
  auto fd = OpenDir(dir_);
  if (!fd.ok()) return fd.status();
  JoinHandles handles;
  handles.v2_dir = fd->Release();
  return handles;
}

absl::Status V2Manager::Apply(pid_t pid) {
  return WriteFile(dir_, "cgroup.procs", absl::StrCat(pid));
}

absl::Status V2Manager::NeedController(absl::string_view controller, absl::string_view what) const {
  auto enabled = ReadFile(dir_, "cgroup.controllers");
  if (!enabled.ok()) return enabled.status();
  if (Contains(*enabled, controller)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat(what, ": the ", controller, " controller is not available in the cgroup v2 ",
                   "hierarchy at ", mountpoint_, " (cgroup.controllers: \"",
                   absl::StripTrailingAsciiWhitespace(*enabled), "\")"));
}

absl::Status V2Manager::Set(const oci::Resources& r) {
  absl::Status st;
  auto step = [&](absl::string_view controller, absl::string_view what, auto&& fn) {
    if (!st.ok()) return;
    st = NeedController(controller, what);
    if (st.ok()) st = fn(dir_);
  };
  if (r.memory.has_value()) {
    step("memory", "linux.resources.memory",
         [&](const std::string& d) { return SetV2Memory(d, *r.memory); });
  }
  if (r.cpu.has_value()) {
    const oci::Cpu& c = *r.cpu;
    if (c.shares.value_or(0) != 0 || c.quota.has_value() || c.period.value_or(0) != 0 ||
        c.idle.has_value() || c.realtime_period.value_or(0) != 0 ||
        c.realtime_runtime.value_or(0) != 0) {
      step("cpu", "linux.resources.cpu", [&](const std::string& d) { return SetV2Cpu(d, c); });
    }
    if (!c.cpus.empty() || !c.mems.empty()) {
      step("cpuset", "linux.resources.cpu.cpus/mems",
           [&](const std::string& d) { return SetV2Cpuset(d, c); });
    }
  }
  if (r.pids.has_value()) {
    step("pids", "linux.resources.pids", [&](const std::string& d) {
      return WriteFile(d, "pids.max", PidsMaxValue(r.pids->limit));
    });
  }
  if (r.block_io.has_value()) {
    step("io", "linux.resources.blockIO",
         [&](const std::string& d) { return SetV2Io(d, *r.block_io); });
  }
  if (!r.hugepage_limits.empty()) {
    step("hugetlb", "linux.resources.hugepageLimits",
         [&](const std::string& d) { return SetV2Hugetlb(d, r.hugepage_limits); });
  }
  if (st.ok() && !r.devices.empty()) {
    // No controller needed: a device program attaches to any cgroup2 cgroup.
    auto program = BuildDeviceProgram(r.devices);
    st = program.ok() ? AttachDeviceProgram(dir_, *program) : program.status();
  }
  if (st.ok()) st = SetUnified(r.unified);
  return st;
}

absl::Status V2Manager::SetUnified(const std::map<std::string, std::string>& unified) {
  for (const auto& [key, value] : unified) {
    if (auto st = ValidateUnifiedKey(key); !st.ok()) return st;
  }
  for (const auto& [key, value] : unified) {
    if (!FileExists(dir_, key)) {
      absl::string_view controller = UnifiedKeyController(key);
      if (controller != "cgroup") {
        auto st = NeedController(controller, absl::StrCat("linux.resources.unified \"", key, "\""));
        if (!st.ok()) return st;
      }
      return absl::InvalidArgumentError(absl::StrCat("linux.resources.unified: \"", key,
                                                     "\" is not a file of the cgroup at ", dir_));
    }
    if (auto st = WriteFile(dir_, key, value); !st.ok()) return st;
  }
  return absl::OkStatus();
}

absl::StatusOr<Stats> V2Manager::GetStats() {
  Stats stats;
  if (auto st = ReadV2Stats(dir_, &stats); !st.ok()) return st;
  return stats;
}

absl::Status V2Manager::SetFrozen(bool want) {
  if (auto st = WriteFile(dir_, "cgroup.freeze", want ? "1" : "0"); !st.ok()) return st;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto events = ReadFile(dir_, "cgroup.events");
    if (!events.ok()) return events.status();
    if ((KeyValue(*events, "frozen") == 1) == want) return absl::OkStatus();
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat(dir_, "/cgroup.events: not ", want ? "frozen" : "thawed", " after 5s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
}

absl::Status V2Manager::Freeze() {
  absl::Status st = SetFrozen(true);
  if (absl::IsDeadlineExceeded(st)) SetFrozen(false).IgnoreError();
  return st;
}

absl::Status V2Manager::Thaw() { return SetFrozen(false); }

absl::StatusOr<FreezerState> V2Manager::GetFreezerState() {
  auto events = ReadFile(dir_, "cgroup.events");
  if (!events.ok()) return events.status();
  return KeyValue(*events, "frozen") == 1 ? FreezerState::kFrozen : FreezerState::kThawed;
}

absl::StatusOr<std::vector<pid_t>> V2Manager::Pids() { return ReadProcsRecursive(dir_); }

absl::StatusOr<uint64_t> V2Manager::OomKillCount() {
  if (auto st = NeedController("memory", "OOM kill count"); !st.ok()) return st;
  auto events = ReadFile(dir_, "memory.events");
  if (!events.ok()) return events.status();
  return KeyValue(*events, "oom_kill");
}

absl::Status V2Manager::SendKill() {
  if (!FileExists(dir_, "cgroup.kill")) return absl::UnimplementedError("no cgroup.kill");
  return WriteFile(dir_, "cgroup.kill", "1");
}

absl::Status V2Manager::WaitEmpty() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    auto events = ReadFile(dir_, "cgroup.events");
    if (!events.ok()) return absl::IsNotFound(events.status()) ? absl::OkStatus() : events.status();
    if (KeyValue(*events, "populated") == 0) return absl::OkStatus();
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(absl::StrCat(dir_, ": still populated after 5s"));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

absl::Status V2Manager::KillAll() {
  if (!Exists()) return absl::OkStatus();
  absl::Status st = SendKill();
  if (absl::IsUnimplemented(st)) return Manager::KillAll();
  if (!st.ok()) return st;
  return WaitEmpty();
}

absl::Status V2Manager::Destroy(bool kill) {
  absl::Status first;
  if (kill) first.Update(KillAll());
  first.Update(RemoveTree(dir_));
  return first;
}

bool V2Manager::Exists() const { return OpenDir(dir_).ok(); }

}  // namespace peapod::cgroups
