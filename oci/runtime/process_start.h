// The last steps of a container process, shared by the container's init
// and by `exec`: terminal, rlimits, fd hygiene, cwd, identity and
// capabilities, seccomp and no_new_privs, then execve. Runs in the child,
// inside the container (after pivot_root or setns).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/sync.h"
#include "oci/spec/spec.h"

namespace peapod::runtime {

struct ProcessStart {
  const oci::Process* process = nullptr;
  const oci::Seccomp* seccomp = nullptr;  // linux.seccomp, may be null
  int console_fd = -1;                    // connected console socket (terminal)
  int preserve_fds = 0;
  int stdio[3] = {-1, -1, -1};  // -1: keep
  // Called (after fds are closed, identity set) just before exec: the init
  // reports kReady and waits on the exec fifo here. May be empty.
  int exec_fifo_fd = -1;  // O_PATH fd of the exec fifo (init only)
  linux::SyncChannel* sync = nullptr;
  const std::vector<oci::Hook>* start_hooks = nullptr;  // startContainer (init only)
  std::string hook_state;                               // state JSON for those hooks
};

// Puts fds 0-2 in place from `stdio` (before anything else closes them).
absl::Status SetupStdio(const int stdio[3]);

// Everything from the terminal to execve; returns only on failure.
absl::Status StartProcess(ProcessStart& ps);

// Resolves a program name against PATH from `env` (default PATH if none).
std::string FindProgram(const std::string& name, const std::vector<std::string>& env);

}  // namespace peapod::runtime
