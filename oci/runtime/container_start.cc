// Start: release the init blocked on the exec fifo.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"
#include "oci/runtime/hooks.h"
#include "oci/runtime/log.h"
#include "oci/runtime/process_util.h"
#include "oci/runtime/runtime.h"
#include "oci/runtime/state_store.h"

namespace peapod::runtime {

using linux::ErrnoStatus;
using linux::UniqueFd;

absl::Status Start(const Options& opts, const std::string& id) {
  PEAPOD_ASSIGN_OR_RETURN(StateRecord rec, LoadState(opts, id));
  if (rec.started) {
    return absl::FailedPreconditionError(absl::StrCat("container \"", id, "\" already started"));
  }
  absl::StatusOr<UniqueFd> pidfd = OpenInitPidfd(rec);
  if (!pidfd.ok()) {
    return absl::FailedPreconditionError(
        absl::StrCat("container \"", id, "\" is stopped: cannot start"));
  }
  // 1. Opening the fifo for reading releases the init's open for writing;
  //    O_NONBLOCK so a dead init cannot block us: poll it with the pidfd.
  std::string fifo = ExecFifoPath(opts, id);
  UniqueFd r(::open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!r) return ErrnoStatus("open exec fifo of " + id);
  char byte = 0;
  for (;;) {
    struct pollfd p[2] = {{r.get(), POLLIN, 0}, {pidfd->get(), POLLIN, 0}};
    int n = ::poll(p, 2, 10000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("poll exec fifo");
    if (n == 0) return absl::DeadlineExceededError("container init did not answer start");
    if (p[0].revents & POLLIN) {
      if (::read(r.get(), &byte, 1) == 1) break;
    }
    if (p[1].revents & POLLIN) {
      return absl::FailedPreconditionError(
          absl::StrCat("container \"", id, "\" init exited before start"));
    }
  }
  ::unlink(fifo.c_str());
  // 2. Record it, then poststart hooks (a failure is only logged).
  rec.started = true;
  PEAPOD_RETURN_IF_ERROR(SaveState(opts, rec));
  if (!rec.poststart_hooks) return absl::OkStatus();  // no need to parse the config
  absl::StatusOr<oci::Spec> spec = LoadConfig(opts, id);
  if (spec.ok() && !spec->hooks.poststart.empty()) {
    std::string state = HookState(id, "running", rec.init_pid, rec.bundle, rec.annotations);
    absl::Status st = RunHooks(spec->hooks.poststart, state, "poststart hook");
    if (!st.ok()) LogWarning(opts, st.message());
  }
  return absl::OkStatus();
}

}  // namespace peapod::runtime
