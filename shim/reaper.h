// The shim is the subreaper of its containers: every child and orphaned
// descendant ends up as its child, and one thread reaps them all. Commands
// the shim runs itself (the OCI runtime binary) and container processes both
// go through here, so no exit status is ever stolen by a second waitpid.
#pragma once

#include <sys/types.h>
#include <time.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"

namespace peapod::shim {

// How a process ended: its wait status and when it was reaped.
struct Exit {
  pid_t pid = 0;
  int wait_status = 0;
  timespec time{};
  // The status as a shell reports it: code, or 128+signal.
  int ExitCode() const;
};

// A program to run to completion; -1 fds mean /dev/null.
struct Command {
  std::vector<std::string> argv;  // argv[0] is looked up on PATH
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
};

class Reaper {
 public:
  using ExitFn = std::function<void(const Exit&)>;

  // Makes this process a child subreaper, blocks SIGCHLD in the calling
  // thread (call it before any other thread starts, so all inherit the mask)
  // and starts the reaping thread.
  static absl::StatusOr<std::unique_ptr<Reaper>> Start();
  // Stops the reaping thread.
  ~Reaper();
  Reaper(const Reaper&) = delete;
  Reaper& operator=(const Reaper&) = delete;

  // Runs a command and waits for it; returns its exit.
  absl::StatusOr<Exit> Run(const Command& cmd);
  // Calls fn once pid exits (at once if it already did, recently).
  void Watch(pid_t pid, ExitFn fn);
  // Forgets a watch (the process is gone by other means).
  void Unwatch(pid_t pid);

  // While the returned lock is held the reaping thread reaps nothing. The
  // in-process launcher (oci/runtime) waits for its own short-lived children
  // (the intermediate, hooks, a failed exec) by pid and must find them;
  // container inits and execs that exit meanwhile stay zombies and are
  // reaped, in order, as soon as the last such lock is released.
  std::shared_lock<std::shared_mutex> HoldReaping();

 private:
  explicit Reaper(linux::UniqueFd sigfd);
  void Loop();
  void Dispatch(const Exit& exit);

  linux::UniqueFd sigfd_;
  linux::UniqueFd stop_;
  std::mutex mu_;
  std::condition_variable cv_;
  // Invariant: a pid is in at most one of these maps. Commands are inserted
  // under mu_ in the same critical section that spawns them, so the reaping
  // thread (which takes mu_ to dispatch) can never see their exit first.
  std::map<pid_t, std::shared_ptr<Exit>> commands_;  // pid -> exit once reaped
  std::map<pid_t, ExitFn> watches_;
  // Exits nobody watched yet: a container process can exit before the shim
  // learns its pid from the runtime's pid file. Bounded and short-lived.
  std::deque<Exit> unclaimed_;
  // Shared by launcher calls in flight, exclusive while the thread reaps.
  std::shared_mutex reap_mu_;
  std::thread thread_;
};

// Now, on the realtime clock.
timespec Now();

}  // namespace peapod::shim
