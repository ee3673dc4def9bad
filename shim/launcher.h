// Runs containers through a runc-compatible command (runc, or peapod's own
// `pea`, which has runc's flags): the shim's exec mode. Every call is one run
// of the binary via the Reaper, so exits are never stolen; the runtime writes
// its errors to a JSON log file that the calls read back into their error
// messages.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "shim/reaper.h"
#include "shim/runtime.h"
#include "shim/stdio.h"

namespace peapod::shim {

class Launcher : public Runtime {
 public:
  // binary: "runc" or "pea" (found on PATH) or a path; root: the runtime's
  // --root for this namespace.
  Launcher(Reaper* reaper, std::string binary, std::string root);

  // `create`: the container's init exists, blocked before exec. Returns its pid.
  absl::StatusOr<pid_t> Create(const std::string& id, const std::string& bundle,
                               const Stdio& io) override;
  // `start`: the init execs the user's program.
  absl::Status Start(const std::string& id) override;
  // `exec -d`: runs `process_json` (an OCI process) in the container.
  absl::StatusOr<pid_t> Exec(const std::string& id, const std::string& bundle,
                             const std::string& exec_id, const std::string& process_json,
                             const Stdio& io) override;
  // `kill`: signals the init (or every process with all).
  absl::Status Kill(const std::string& id, int signal, bool all) override;
  // `delete`: removes the runtime's state (and kills the init with force).
  absl::Status Delete(const std::string& id, bool force) override;
  // `pause` / `resume`: freezes and thaws the container's cgroup.
  absl::Status Pause(const std::string& id) override;
  absl::Status Resume(const std::string& id) override;
  // `update -r`: applies an OCI LinuxResources JSON document.
  absl::Status Update(const std::string& id, const std::string& bundle,
                      const std::string& resources_json) override;
  // `ps --format json`: the container's pids.
  absl::StatusOr<std::vector<pid_t>> Pids(const std::string& id) override;

  // `events --stats`, translated into containerd's Metrics.
  absl::StatusOr<std::string> Metrics(const std::string& id) override;
  std::string name() const override { return binary_; }

 private:
  // Runs the binary with global flags + args; an error carries the log's message.
  absl::Status Run(std::vector<std::string> args, int in = -1, int out = -1, int err = -1);
  // Like Run, returning what the binary printed on stdout.
  absl::StatusOr<std::string> RunCapture(std::vector<std::string> args);
  std::string LogPath() const;

  Reaper* reaper_;
  std::string binary_;
  std::string root_;
};

}  // namespace peapod::shim
