// The launcher's cgroup managers: one abstract Manager with v1 (legacy),
// v2 (unified) and hybrid implementations.
//
// A manager is a value computed from (cgroupsPath, id) and the host's layout;
// it holds no open resources and no state of its own, so any later pea
// process rebuilds the same manager with Open() and finds the same
// directories. Typical life:
//   Open -> Create -> Set -> Apply(init pid) -> ... Freeze/Thaw, Stats,
//   Pids, Set (update) ... -> Destroy.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "oci/cgroups/mode.h"
#include "oci/spec/spec.h"

namespace peapod::cgroups {

// Usage numbers of one container cgroup; the same shape as
// runtime::Stats so the runtime copies it field by field.
struct Stats {
  struct {
    uint64_t usage = 0, max_usage = 0, failcnt = 0, limit = 0;
    // memory+swap, as OCI's memory.swap counts it.
    uint64_t swap_usage = 0, swap_limit = 0;
    uint64_t oom_kill_count = 0;
    std::map<std::string, uint64_t> raw;  // memory.stat
  } memory;
  struct {
    uint64_t total_ns = 0, kernel_ns = 0, user_ns = 0;
    std::vector<uint64_t> percpu_ns;  // v1 only
    uint64_t throttled_periods = 0, throttled_time_ns = 0, periods = 0;
  } cpu;
  struct {
    uint64_t current = 0, limit = 0;  // limit 0 = unlimited
  } pids;
  std::map<std::string, uint64_t> hugetlb_usage;  // by page size ("2MB")
};

enum class FreezerState { kThawed, kFrozen };

// What lets a new process enter a container's cgroup by itself, on the
// kernel's cheap paths. Moving another process by pid (Apply) takes the
// global cgroup_threadgroup_rwsem for writing, which waits for an RCU grace
// period: 10-30 ms per container on this VM. Writing "0" to a v1 `tasks`
// file moves only the writing thread and skips that lock; clone3
// CLONE_INTO_CGROUP creates a process directly in a cgroup2 directory.
struct JoinHandles {
  std::vector<int> v1_tasks;  // <dir>/tasks of every v1 hierarchy, O_WRONLY
  int v2_dir = -1;            // the cgroup2 directory, O_DIRECTORY, or -1
  JoinHandles() = default;
  JoinHandles(JoinHandles&& other) noexcept;
  JoinHandles& operator=(JoinHandles&& other) noexcept;
  JoinHandles(const JoinHandles&) = delete;
  JoinHandles& operator=(const JoinHandles&) = delete;
  ~JoinHandles() { Close(); }
  // Closes every fd.
  void Close();
};

// Moves the calling thread into the cgroup of every v1 `tasks` fd by
// writing "0" to it (for a single-threaded process: the whole process).
// The fds are left open.
absl::Status JoinSelf(const std::vector<int>& v1_tasks);

class Manager {
 public:
  virtual ~Manager() = default;

  // The host layout this manager drives.
  virtual Mode mode() const = 0;
  // The container's cgroup path below each hierarchy root, e.g. "/pea/<id>".
  const std::string& Path() const { return path_; }
  // The container's directory in every hierarchy it uses, keyed by the
  // hierarchy's controllers ("memory", "cpu,cpuacct", "name=systemd") or
  // "unified" for cgroup2. For the state record and debugging.
  virtual std::map<std::string, std::string> Paths() const = 0;

  // Creates the cgroup (and missing parents) in every hierarchy.
  virtual absl::Status Create() = 0;
  // Create() in two steps, for a launcher that makes the slow part while
  // it spawns the init: CreateV2() makes the cgroup2 dir (which a process
  // can be cloned straight into; nothing on a v1-only host), CreateV1() the
  // dir in every v1 hierarchy (a mkdir each, ~1 ms on a hybrid host).
  virtual absl::Status CreateV2() { return absl::OkStatus(); }
  virtual absl::Status CreateV1() { return absl::OkStatus(); }
  // The cgroup2 dir, O_DIRECTORY (after CreateV2), or -1 without one.
  virtual absl::StatusOr<int> OpenV2Dir() const { return -1; }
  // Moves process `pid` (its whole thread group) into the cgroup everywhere.
  virtual absl::Status Apply(pid_t pid) = 0;
  // Writes the resource limits; used at create time and by `update`.
  virtual absl::Status Set(const oci::Resources& resources) = 0;
  // Reads usage counters.
  virtual absl::StatusOr<Stats> GetStats() = 0;
  // Freezes every process in the cgroup; returns once the kernel says frozen.
  virtual absl::Status Freeze() = 0;
  // Thaws the cgroup; returns once the kernel says thawed.
  virtual absl::Status Thaw() = 0;
  // Whether the cgroup is frozen (`pea state` reports "paused").
  virtual absl::StatusOr<FreezerState> GetFreezerState() = 0;
  // Every pid in the cgroup and its descendants.
  virtual absl::StatusOr<std::vector<pid_t>> Pids() = 0;
  // How many processes the OOM killer killed in this cgroup.
  virtual absl::StatusOr<uint64_t> OomKillCount() = 0;
  // Removes the cgroup (and any sub-cgroups) from every hierarchy, after
  // SIGKILLing what is left inside if `kill`. Succeeds if already gone.
  virtual absl::Status Destroy(bool kill) = 0;
  // True if the container's cgroup directory exists.
  virtual bool Exists() const = 0;

  // Opens the JoinHandles of the (created) cgroup. Unimplemented where a
  // manager has none: callers then Apply(pid).
  virtual absl::StatusOr<JoinHandles> OpenJoinHandles() const;

  // Sends `signal` to every process in the cgroup (`kill --all`).
  absl::Status Signal(int signal);
  // SIGKILLs every process until the cgroup is empty (a few seconds at most).
  virtual absl::Status KillAll();

 protected:
  explicit Manager(std::string path) : path_(std::move(path)) {}

 private:
  std::string path_;
};

// The manager for a container: resolves cgroupsPath + id (see path.h),
// detects the host layout and picks the implementation.
absl::StatusOr<std::unique_ptr<Manager>> Open(const std::string& cgroups_path,
                                              const std::string& id);

// From now on, Open() in this process detects the host's cgroup layout once
// and reuses it (as containerd's cgroups package does). For long-lived
// processes that create many containers (the shim): the layout is set at
// boot, and reading /proc/self/mountinfo for it cost every create ~0.1 ms.
// Detects it at once, so a shim started ahead of its pod (a spare) has it
// before its first create.
void CacheHostLayout();

// The manager for an already resolved absolute cgroup path on `host`.
absl::StatusOr<std::unique_ptr<Manager>> OpenOnHost(const Host& host, const std::string& path);

// A v1 manager over the host's v1 hierarchies (legacy, or the v1 half of hybrid).
std::unique_ptr<Manager> NewV1Manager(const Host& host, const std::string& path);
// A v2 manager over the cgroup2 mount at `mountpoint` (which may have no
// controllers, as the unified half of a hybrid host).
std::unique_ptr<Manager> NewV2Manager(const std::string& mountpoint, const std::string& path);
// A hybrid manager: limits, stats and the freezer on the v1 hierarchies, and
// the same cgroup in the controller-less cgroup2 mount so the container is
// tracked (and killed with cgroup.kill) there too, as runc does.
std::unique_ptr<Manager> NewHybridManager(const Host& host, const std::string& path);

}  // namespace peapod::cgroups
