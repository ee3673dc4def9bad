// Kill and Delete.
#include <signal.h>

#include "absl/strings/str_cat.h"
#include "oci/runtime/container_status.h"
#include "oci/runtime/hooks.h"
#include "oci/runtime/log.h"
#include "oci/runtime/process_util.h"
#include "oci/runtime/runtime.h"

namespace peapod::runtime {

absl::Status Kill(const Options& opts, const std::string& id, int signal, bool all) {
  if (signal <= 0 || signal > SIGRTMAX) {
    return absl::InvalidArgumentError(absl::StrCat("invalid signal ", signal));
  }
  PEAPOD_ASSIGN_OR_RETURN(StateRecord rec, LoadState(opts, id));
  if (all) {
    PEAPOD_ASSIGN_OR_RETURN(auto cg, OpenCgroup(rec));
    return cg->Signal(signal);
  }
  absl::StatusOr<linux::UniqueFd> pidfd = OpenInitPidfd(rec);
  if (!pidfd.ok() || StatusOf(rec) == InitStatus::kStopped) {
    return absl::FailedPreconditionError(absl::StrCat("container \"", id, "\" is not running"));
  }
  return SignalPidfd(pidfd->get(), signal);
}

absl::Status Delete(const Options& opts, const std::string& id, bool force) {
  absl::StatusOr<StateRecord> loaded = LoadState(opts, id);
  if (!loaded.ok()) {
    // A dir without a record is a Create that died half-way: clean it.
    if (force && absl::IsNotFound(loaded.status())) return RemoveStateDir(opts, id);
    return loaded.status();
  }
  const StateRecord& rec = *loaded;
  InitStatus st = StatusOf(rec);
  PEAPOD_ASSIGN_OR_RETURN(auto cg, OpenCgroup(rec));
  // 1. Refuse a live container unless forced (a created one is fine, as runc).
  if ((st == InitStatus::kRunning || st == InitStatus::kPaused) && !force) {
    return absl::FailedPreconditionError(absl::StrCat(
        "container \"", id, "\" is ", InitStatusName(st), ": stop it first or use --force"));
  }
  // 2. Kill the init and everything else in the cgroup.
  if (st != InitStatus::kStopped) {
    if (st == InitStatus::kPaused) cg->Thaw().IgnoreError();
    absl::StatusOr<linux::UniqueFd> pidfd = OpenInitPidfd(rec);
    if (pidfd.ok()) {
      SignalPidfd(pidfd->get(), SIGKILL).IgnoreError();
      PEAPOD_RETURN_IF_ERROR(WaitPidfd(pidfd->get(), rec.init_pid, 10000));
    }
  }
  ReapIfChild(rec.init_pid);
  // 3. The cgroup, then poststop hooks (logged), then the record.
  PEAPOD_RETURN_IF_ERROR(cg->Destroy(true));
  absl::StatusOr<oci::Spec> spec = LoadConfig(opts, id);
  if (spec.ok() && !spec->hooks.poststop.empty()) {
    std::string state = HookState(id, "stopped", 0, rec.bundle, rec.annotations);
    absl::Status hs = RunHooks(spec->hooks.poststop, state, "poststop hook");
    if (!hs.ok()) LogWarning(opts, hs.message());
  }
  return RemoveStateDir(opts, id);
}

}  // namespace peapod::runtime
