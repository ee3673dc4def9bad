// Pause, Resume, Update, GetStats, Pids, OomKilled: the cgroup manager's
// view of a container.
#include "absl/strings/str_cat.h"
#include "oci/runtime/container_status.h"
#include "oci/runtime/runtime.h"

namespace peapod::runtime {
namespace {

absl::StatusOr<std::unique_ptr<cgroups::Manager>> LiveCgroup(const Options& opts,
                                                             const std::string& id,
                                                             InitStatus* status) {
  PEAPOD_ASSIGN_OR_RETURN(StateRecord rec, LoadState(opts, id));
  *status = StatusOf(rec);
  return OpenCgroup(rec);
}

}  // namespace

absl::Status Pause(const Options& opts, const std::string& id) {
  InitStatus st;
  PEAPOD_ASSIGN_OR_RETURN(auto cg, LiveCgroup(opts, id, &st));
  if (st != InitStatus::kRunning && st != InitStatus::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("container \"", id, "\" is ", InitStatusName(st), ": cannot pause"));
  }
  return cg->Freeze();
}

absl::Status Resume(const Options& opts, const std::string& id) {
  InitStatus st;
  PEAPOD_ASSIGN_OR_RETURN(auto cg, LiveCgroup(opts, id, &st));
  if (st != InitStatus::kPaused) {
    return absl::FailedPreconditionError(absl::StrCat("container \"", id, "\" is not paused"));
  }
  return cg->Thaw();
}

absl::Status Update(const Options& opts, const std::string& id, const oci::Resources& res) {
  InitStatus st;
  PEAPOD_ASSIGN_OR_RETURN(auto cg, LiveCgroup(opts, id, &st));
  if (st == InitStatus::kStopped) {
    return absl::FailedPreconditionError(absl::StrCat("container \"", id, "\" is stopped"));
  }
  return cg->Set(res);
}

absl::StatusOr<Stats> GetStats(const Options& opts, const std::string& id) {
  InitStatus st;
  PEAPOD_ASSIGN_OR_RETURN(auto cg, LiveCgroup(opts, id, &st));
  PEAPOD_ASSIGN_OR_RETURN(cgroups::Stats c, cg->GetStats());
  Stats s;
  s.memory.usage = c.memory.usage;
  s.memory.max_usage = c.memory.max_usage;
  s.memory.failcnt = c.memory.failcnt;
  s.memory.limit = c.memory.limit;
  s.memory.swap_usage = c.memory.swap_usage;
  s.memory.swap_limit = c.memory.swap_limit;
  s.memory.oom_kill_count = c.memory.oom_kill_count;
  s.memory.raw = c.memory.raw;
  s.cpu.total_ns = c.cpu.total_ns;
  s.cpu.kernel_ns = c.cpu.kernel_ns;
  s.cpu.user_ns = c.cpu.user_ns;
  s.cpu.percpu_ns = c.cpu.percpu_ns;
  s.cpu.throttled_periods = c.cpu.throttled_periods;
  s.cpu.throttled_time_ns = c.cpu.throttled_time_ns;
  s.cpu.periods = c.cpu.periods;
  s.pids.current = c.pids.current;
  s.pids.limit = c.pids.limit;
  s.hugetlb_usage = c.hugetlb_usage;
  return s;
}

absl::StatusOr<std::vector<pid_t>> Pids(const Options& opts, const std::string& id) {
  InitStatus st;
  PEAPOD_ASSIGN_OR_RETURN(auto cg, LiveCgroup(opts, id, &st));
  return cg->Pids();
}

absl::StatusOr<bool> OomKilled(const Options& opts, const std::string& id) {
  InitStatus st;
  PEAPOD_ASSIGN_OR_RETURN(auto cg, LiveCgroup(opts, id, &st));
  PEAPOD_ASSIGN_OR_RETURN(uint64_t n, cg->OomKillCount());
  return n > 0;
}

}  // namespace peapod::runtime
