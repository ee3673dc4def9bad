// The launcher's public API: one OCI container's life, runc-style.
//
// `pea` (oci/pea/) is a thin CLI over these calls and the shim
// (shim/) calls them directly. State lives under Options::root, one
// directory per container id, written atomically; nothing here keeps state in
// memory between calls, so every call works from a fresh process.
//
// Lifecycle (runtime-spec "Lifecycle", runc's semantics):
//   Create: the container process exists, fully set up (namespaces, mounts,
//     pivot_root, cgroups, caps, seccomp), blocked before exec until Start.
//     Create returns once that is true; the process outlives the caller.
//   Start: the blocked process execs the user's program.
//   Kill / Delete / State / Exec / Pause / Resume / Update / Stats / Pids.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "oci/spec/spec.h"

namespace peapod::runtime {

// Global flags (runc's --root, --systemd-cgroup, ...).
struct Options {
  std::string root = "/run/pea";
  bool systemd_cgroup = false;  // not supported: Create fails with a clear error
  bool debug = false;
  // Warnings that do not fail a call (a failed poststart or poststop hook)
  // are appended here in runc's log format (pea: --log, --log-format);
  // "" = stderr.
  std::string log;
  bool log_json = false;
  // Compiled seccomp programs are kept here (seccomp::Filter::BuildCached:
  // root-only, checked against the profile); "" compiles every time.
  std::string seccomp_cache_dir;
};

struct CreateOptions {
  std::string id;
  std::string bundle;          // directory holding config.json; "" = cwd
  std::string pid_file;        // written with the container's init pid
  std::string console_socket;  // unix socket receiving the pty master (SCM_RIGHTS)
  bool no_pivot = false;
  int preserve_fds = 0;  // fds 3..3+n-1 passed on, LISTEN_FDS set
  // Stdio for the container's init. -1 = inherit the caller's 0/1/2.
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
};

// runc's state as printed by `runc state` (oci version, id, pid, status,
// bundle, rootfs, created, owner, annotations).
struct ContainerState {
  std::string oci_version;
  std::string id;
  pid_t pid = 0;
  std::string status;  // created running paused stopped
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC3339Nano
  std::string owner;
  std::map<std::string, std::string> annotations;
};

struct ExecOptions {
  oci::Process process;  // from --process or built from args/flags by the CLI
  bool detach = false;
  std::string pid_file;
  std::string console_socket;
  int preserve_fds = 0;
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
};

struct Stats {  // what `pea events --stats` prints (runc's "stats" event data)
  struct {
    uint64_t usage = 0, max_usage = 0, failcnt = 0, limit = 0;
    uint64_t swap_usage = 0, swap_limit = 0;
    uint64_t oom_kill_count = 0;
    std::map<std::string, uint64_t> raw;
  } memory;
  struct {
    uint64_t total_ns = 0, kernel_ns = 0, user_ns = 0;
    std::vector<uint64_t> percpu_ns;
    uint64_t throttled_periods = 0, throttled_time_ns = 0, periods = 0;
  } cpu;
  struct {
    uint64_t current = 0, limit = 0;
  } pids;
  std::map<std::string, uint64_t> hugetlb_usage;  // by page size
};

absl::Status Create(const Options& opts, const CreateOptions& create);
// Create, returning the init's pid (State's pid) without reading it back.
absl::StatusOr<pid_t> CreateInit(const Options& opts, const CreateOptions& create);
absl::Status Start(const Options& opts, const std::string& id);
// Create + Start; unless detach, waits and returns the exit status as a shell
// would report it (128+signal for a signal death).
absl::StatusOr<int> Run(const Options& opts, const CreateOptions& create, bool detach);
absl::StatusOr<ContainerState> State(const Options& opts, const std::string& id);
absl::StatusOr<std::vector<ContainerState>> List(const Options& opts);
absl::Status Kill(const Options& opts, const std::string& id, int signal, bool all);
absl::Status Delete(const Options& opts, const std::string& id, bool force);
// Runs a process in the container; unless detach, waits and returns its exit
// status (128+signal). With detach, returns 0 once it runs; its pid goes to
// pid_file.
absl::StatusOr<int> Exec(const Options& opts, const std::string& id, const ExecOptions& exec);
absl::StatusOr<std::vector<pid_t>> Pids(const Options& opts, const std::string& id);
absl::Status Pause(const Options& opts, const std::string& id);
absl::Status Resume(const Options& opts, const std::string& id);
absl::Status Update(const Options& opts, const std::string& id, const oci::Resources& resources);
absl::StatusOr<Stats> GetStats(const Options& opts, const std::string& id);
// True once the container's cgroup saw an OOM kill.
absl::StatusOr<bool> OomKilled(const Options& opts, const std::string& id);

// Parses a signal given as a name ("KILL", "SIGKILL") or a number ("9").
absl::StatusOr<int> ParseSignal(const std::string& text);

}  // namespace peapod::runtime
