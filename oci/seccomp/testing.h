// Test helper: run a function in a forked child with a seccomp filter loaded.
#pragma once

#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <functional>

#include "oci/seccomp/filter.h"

namespace peapod::seccomp::testing {

// Forks; the child sets no_new_privs, loads `filter` and exits with fn()'s
// value (kLoadFailed if loading failed). Returns the child's wait status.
// fn runs under the filter: it should only make raw syscalls and return.
inline constexpr int kLoadFailed = 250;
inline int RunFiltered(const Filter& filter, const std::function<int()>& fn) {
  pid_t pid = fork();
  if (pid == 0) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) _exit(kLoadFailed);
    if (!filter.Load().ok()) _exit(kLoadFailed);
    _exit(fn());
  }
  int status = -1;
  if (pid > 0) waitpid(pid, &status, 0);
  return status;
}

}  // namespace peapod::seccomp::testing
