// pidfd helpers.
#include "oci/runtime/process_util.h"

#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"

namespace peapod::runtime {

using linux::ErrnoStatus;
using linux::UniqueFd;

absl::StatusOr<UniqueFd> OpenInitPidfd(const StateRecord& rec) {
  if (rec.init_pid <= 0) return absl::NotFoundError("container has no init process");
  UniqueFd fd(static_cast<int>(::syscall(SYS_pidfd_open, rec.init_pid, 0)));
  if (!fd) return ErrnoStatus(absl::StrCat("pidfd_open ", rec.init_pid));
  // The pidfd pins the process: if its start time matches now, it is ours.
  absl::StatusOr<linux::ProcStat> st = linux::ReadProcStat(rec.init_pid);
  if (!st.ok() || st->start_time != rec.init_start_time) {
    return absl::NotFoundError(absl::StrCat("container init ", rec.init_pid, " is gone"));
  }
  return fd;
}

absl::Status SignalPidfd(int pidfd, int signal) {
  if (::syscall(SYS_pidfd_send_signal, pidfd, signal, nullptr, 0) != 0) {
    return ErrnoStatus(absl::StrCat("send signal ", signal));
  }
  return absl::OkStatus();
}

void ReapIfChild(pid_t pid) {
  int status;
  ::waitpid(pid, &status, WNOHANG);
}

absl::Status WaitPidfd(int pidfd, pid_t pid, int timeout_ms) {
  struct pollfd p = {pidfd, POLLIN, 0};
  for (;;) {
    int n = ::poll(&p, 1, timeout_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("poll pidfd");
    if (n == 0) return absl::DeadlineExceededError(absl::StrCat("process ", pid, " did not exit"));
    break;
  }
  ReapIfChild(pid);
  return absl::OkStatus();
}

absl::StatusOr<int> WaitChild(pid_t pid) {
  int status = 0;
  for (;;) {
    if (::waitpid(pid, &status, 0) >= 0) break;
    if (errno != EINTR) return ErrnoStatus(absl::StrCat("waitpid ", pid));
  }
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}

}  // namespace peapod::runtime
