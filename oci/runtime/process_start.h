// The last steps of a container process, shared by the container's init
// and by `exec`: terminal, rlimits, fd hygiene, cwd, identity and
// capabilities, seccomp and no_new_privs, then execve. Runs in the child,
// inside the container (after pivot_root or setns).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/sync.h"
#include "oci/runtime/runtime.h"
#include "oci/seccomp/filter.h"
#include "oci/spec/spec.h"

namespace peapod::runtime {

struct ProcessStart {
  const oci::Process* process = nullptr;
  // linux.seccomp compiled by the launcher before the fork (compiling costs
  // 15-20 ms per profile here: never twice, never in the child); may be null.
  const seccomp::Filter* seccomp = nullptr;
  int console_fd = -1;  // connected console socket (terminal)
  int preserve_fds = 0;
  int stdio[3] = {-1, -1, -1};  // -1: keep
  // Called (after fds are closed, identity set) just before exec: the init
  // reports kReady and waits on the exec fifo here. May be empty.
  int exec_fifo_fd = -1;  // O_PATH fd of the exec fifo (init only)
  linux::SyncChannel* sync = nullptr;
  const std::vector<oci::Hook>* start_hooks = nullptr;  // startContainer (init only)
  std::string hook_state;                               // state JSON for those hooks
};

// linux.seccomp compiled (through opts.seccomp_cache_dir when set); nullopt
// when the spec has none. InvalidArgument names the bad member.
absl::StatusOr<std::optional<seccomp::Filter>> CompileSeccomp(const Options& opts,
                                                              const oci::Spec& spec);

// Puts fds 0-2 in place from `stdio` (before anything else closes them).
absl::Status SetupStdio(const int stdio[3]);

// Everything from the terminal to execve; returns only on failure.
absl::Status StartProcess(ProcessStart& ps);

// Resolves a program name against PATH from `env` (default PATH if none).
std::string FindProgram(const std::string& name, const std::vector<std::string>& env);

}  // namespace peapod::runtime
