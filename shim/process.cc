#include "shim/process.h"

namespace peapod::shim {

const char* StateName(ProcState s) {
  switch (s) {
    case ProcState::kCreated:
      return "created";
    case ProcState::kRunning:
      return "running";
    case ProcState::kPaused:
      return "paused";
    case ProcState::kStopped:
      return "stopped";
  }
  return "unknown";
}

ProcessStatus Process::status() const {
  std::lock_guard lock(mu_);
  return st_;
}

void Process::SetPid(pid_t pid, ProcState state) {
  std::lock_guard lock(mu_);
  st_.pid = pid;
  if (st_.state != ProcState::kStopped) st_.state = state;
}

bool Process::SetState(ProcState state) {
  std::lock_guard lock(mu_);
  if (st_.state == ProcState::kStopped) return false;
  st_.state = state;
  return true;
}

void Process::SetExited(int exit_code, timespec when) {
  std::lock_guard lock(mu_);
  if (st_.state == ProcState::kStopped) return;
  st_.state = ProcState::kStopped;
  st_.exit_status = static_cast<uint32_t>(exit_code);
  st_.exited_at = when;
  stopped_.notify_all();
}

ProcessStatus Process::Wait() const {
  std::unique_lock lock(mu_);
  stopped_.wait(lock, [this] { return st_.state == ProcState::kStopped; });
  return st_;
}

}  // namespace peapod::shim
