// One process the shim supervises: a container's init or an exec.
//
// Life (containerd's init_state / exec_state):
//   kCreated --Start--> kRunning --Pause--> kPaused --Resume--> kRunning
//   kCreated | kRunning | kPaused --exit reaped--> kStopped
// Invariants:
//   - kStopped is final; exit_status and exited_at are set exactly when the
//     state becomes kStopped, and Wait returns only then.
//   - pid is 0 only for an exec in kCreated (the runtime has not run it).
//   - stdio stays open until the process is deleted, so output fifos keep a
//     reader while containerd restarts.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "shim/reaper.h"
#include "shim/stdio.h"

namespace peapod::shim {

enum class ProcState { kCreated, kRunning, kPaused, kStopped };

// Returns the containerd name of a state ("running").
const char* StateName(ProcState s);

struct ProcessStatus {
  ProcState state = ProcState::kCreated;
  pid_t pid = 0;
  uint32_t exit_status = 0;
  timespec exited_at{};
};

class Process {
 public:
  Process(std::string container_id, std::string exec_id, StdioPaths paths)
      : container_id_(std::move(container_id)),
        exec_id_(std::move(exec_id)),
        paths_(std::move(paths)) {}

  const std::string& container_id() const { return container_id_; }
  // "" for a container's init.
  const std::string& exec_id() const { return exec_id_; }
  const StdioPaths& paths() const { return paths_; }
  // The process's stdio; null until opened.
  Stdio* stdio() const { return stdio_.get(); }
  void set_stdio(std::unique_ptr<Stdio> s) { stdio_ = std::move(s); }

  // A snapshot of the state.
  ProcessStatus status() const;
  // Records the pid and enters kCreated (init) or kRunning (exec).
  void SetPid(pid_t pid, ProcState state);
  // Moves between running and paused; false if the process has stopped.
  bool SetState(ProcState state);
  // Records an exit: kStopped, status, time; wakes waiters. Idempotent.
  void SetExited(int exit_code, timespec when);
  // Blocks until the process has stopped and returns its final status.
  ProcessStatus Wait() const;

 private:
  const std::string container_id_, exec_id_;
  const StdioPaths paths_;
  std::unique_ptr<Stdio> stdio_;
  mutable std::mutex mu_;
  mutable std::condition_variable stopped_;
  ProcessStatus st_;
};

}  // namespace peapod::shim
