// The shim's default runtime: peapod's launcher library (oci/runtime) called
// in-process. The library forks the container's intermediate and init itself
// (the init is cloned with CLONE_PARENT, so it is the shim's own child) and
// waits for its short-lived helpers by pid; every call therefore holds the
// Reaper's HoldReaping lock, so the reaping thread never takes one of them.
#pragma once

#include <string>

#include "oci/runtime/runtime.h"
#include "shim/reaper.h"
#include "shim/runtime.h"

namespace peapod::shim {

class LibRuntime : public Runtime {
 public:
  // root: the launcher's state root for this namespace.
  LibRuntime(Reaper* reaper, std::string root);

  absl::StatusOr<pid_t> Create(const std::string& id, const std::string& bundle,
                               const Stdio& io) override;
  absl::Status Start(const std::string& id) override;
  absl::StatusOr<pid_t> Exec(const std::string& id, const std::string& bundle,
                             const std::string& exec_id, const std::string& process_json,
                             const Stdio& io) override;
  absl::Status Kill(const std::string& id, int signal, bool all) override;
  absl::Status Delete(const std::string& id, bool force) override;
  absl::Status Pause(const std::string& id) override;
  absl::Status Resume(const std::string& id) override;
  absl::Status Update(const std::string& id, const std::string& bundle,
                      const std::string& resources_json) override;
  absl::StatusOr<std::vector<pid_t>> Pids(const std::string& id) override;
  absl::StatusOr<std::string> Metrics(const std::string& id) override;
  std::string name() const override { return "peapod"; }

 private:
  Reaper* reaper_;
  runtime::Options opts_;
};

}  // namespace peapod::shim
