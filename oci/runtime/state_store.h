// The on-disk record of one container: <root>/<id>/state.json (written
// atomically: temp + fsync + rename) and <root>/<id>/config.json (the spec
// as it was at create time, so later calls never depend on the bundle).
//
// Invariant: a state dir exists exactly while the container exists from the
// runtime's point of view; Create makes it first (mkdir is the duplicate-id
// lock) and removes it on any failure; Delete removes it last.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "oci/linux/errno_status.h"
#include "oci/runtime/runtime.h"
#include "oci/spec/spec.h"

namespace peapod::runtime {

struct StateRecord {
  std::string id;
  pid_t init_pid = 0;
  uint64_t init_start_time = 0;  // /proc/<pid>/stat field 22, against pid reuse
  std::string bundle;
  std::string rootfs;
  std::string created;  // RFC3339Nano
  std::string cgroup_path;
  std::string owner;
  bool started = false;  // Start ran (the exec fifo is gone)
  // The config has poststart hooks: Start reads it back only then (a record
  // without the field, from an older pea, says true).
  bool poststart_hooks = true;
  std::map<std::string, std::string> annotations;
};

// Checks a container id: non-empty, at most 1024 bytes, letters, digits and
// "_+-." only, not "." or "..". `what` names it in the error ("exec id", ...):
// every id that becomes a file name goes through here.
absl::Status ValidateId(const std::string& id, absl::string_view what = "container id");

// <root>/<id>.
std::string StateDir(const Options& opts, const std::string& id);
// The exec fifo of a created container.
std::string ExecFifoPath(const Options& opts, const std::string& id);

// Creates <root> (0700) if missing, then <root>/<id> (0700); AlreadyExists
// if the id is taken.
absl::Status MakeStateDir(const Options& opts, const std::string& id);
// Removes <root>/<id> and everything in it. Missing is success.
absl::Status RemoveStateDir(const Options& opts, const std::string& id);

absl::Status SaveState(const Options& opts, const StateRecord& rec);
// NotFound "container <id> does not exist" if there is no record.
absl::StatusOr<StateRecord> LoadState(const Options& opts, const std::string& id);

absl::Status SaveConfig(const Options& opts, const std::string& id, const oci::Spec& spec);
absl::StatusOr<oci::Spec> LoadConfig(const Options& opts, const std::string& id);

// The current time as RFC3339Nano (UTC).
std::string NowRfc3339Nano();

// Where the container's init process is in its life.
enum class InitStatus { kCreated, kRunning, kPaused, kStopped };
const char* InitStatusName(InitStatus s);
// True if the recorded init still runs (same pid and start time, not a zombie).
bool InitAlive(const StateRecord& rec);

}  // namespace peapod::runtime
