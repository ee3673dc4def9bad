// TaskOOM: notices when the kernel's OOM killer kills in a container's
// memory cgroup. cgroup v1: an eventfd registered on memory.oom_control
// through cgroup.event_control; cgroup v2: memory.events, which the kernel
// marks changed (POLLPRI). Either way the "oom_kill" counter decides: an
// event is reported when it grew, so spurious wakeups (the cgroup's removal)
// report nothing. One thread, started with the first container: it also
// registers each container (reads its cgroup, opens the files), off the
// create's path.
#pragma once

#include <sys/types.h>

#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "absl/status/status.h"
#include "oci/linux/unique_fd.h"

namespace peapod::shim {

class OomWatcher {
 public:
  // on_oom(container id) runs on the watcher's thread or in Check.
  explicit OomWatcher(std::function<void(const std::string&)> on_oom);
  ~OomWatcher();
  OomWatcher(const OomWatcher&) = delete;
  OomWatcher& operator=(const OomWatcher&) = delete;

  // Watches the memory cgroup `pid` is in, for container `id`, from the
  // watcher's thread (which also reads the counter's starting value there):
  // call it while the process has not started yet. A host without a memory
  // controller is not an error: nothing is watched. A registration that
  // fails is written to stderr (no TaskOOM for that container).
  absl::Status Add(const std::string& id, pid_t pid);
  // Waits until Add(id) has been carried out (before the process starts).
  void Settle(const std::string& id);
  // Reads the counter now (a container's exit may be reaped before the
  // event is read): reports an OOM kill not yet reported.
  void Check(const std::string& id);
  // Stops watching id (before its cgroup is removed).
  void Remove(const std::string& id);

  // The oom_kill counter in a memory.oom_control / memory.events text.
  static uint64_t ParseOomKill(const std::string& text);

 private:
  struct Entry {
    std::string counter_path;  // memory.oom_control (v1) or memory.events (v2)
    linux::UniqueFd fd;        // v1: the eventfd; v2: memory.events
    bool v2 = false;
    uint64_t reported = 0;
  };
  void Loop();
  absl::Status EnsureThread();
  // Opens what watching pid's memory cgroup takes; false in *watch when
  // there is no memory controller.
  static absl::Status Register(pid_t pid, Entry& e, bool* watch);
  // Carries out the pending Adds (on the watcher's thread).
  void RegisterPending();
  void CheckEntry(const std::string& id);

  std::function<void(const std::string&)> on_oom_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  std::map<std::string, pid_t> pending_;  // Adds not yet carried out
  std::condition_variable settled_;
  linux::UniqueFd wake_;  // eventfd: the set changed or we stop
  bool stopping_ = false;
  bool failed_ = false;  // the thread ended on an error
  std::thread thread_;
};

}  // namespace peapod::shim
