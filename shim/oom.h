// TaskOOM: notices when the kernel's OOM killer kills in a container's
// memory cgroup. cgroup v1: an eventfd registered on memory.oom_control
// through cgroup.event_control; cgroup v2: memory.events, which the kernel
// marks changed (POLLPRI). Either way the "oom_kill" counter decides: an
// event is reported when it grew, so spurious wakeups (the cgroup's removal)
// report nothing. One thread, started with the first container that has a
// memory cgroup.
#pragma once

#include <sys/types.h>

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

  // Watches the memory cgroup `pid` is in, for container `id`. A host
  // without a memory controller is not an error: nothing is watched.
  absl::Status Add(const std::string& id, pid_t pid);
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

  std::function<void(const std::string&)> on_oom_;
  std::mutex mu_;
  std::map<std::string, Entry> entries_;
  linux::UniqueFd wake_;  // eventfd: the set changed or we stop
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace peapod::shim
