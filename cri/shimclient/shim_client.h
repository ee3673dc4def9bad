// peapodd's side of a pod's shim (containerd-shim-peapod-v2): starting it,
// finding it again after a restart, and typed calls of containerd's Task API
// (containerd.task.v2.Task) over ttrpc. One shim serves every container of a
// pod (the infra and its containers); peapodd is never their parent.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "shim/ttrpc/client.h"

namespace peapod::cri {

namespace task = ::containerd::task::v2;

struct ShimOptions {
  // containerd-shim-peapod-v2: an absolute path, or a name looked up next to
  // peapodd's own binary, then in its build tree, then in PATH (FindBinary).
  std::string binary = "containerd-shim-peapod-v2";
  // containerd namespace the shim files its runtime state under.
  std::string ns = "k8s.io";
  // The address the shim is told is its "containerd" (used to name its socket).
  std::string address = "/run/peapod/peapod.sock";
  // Where the shim puts its socket (env PEAPOD_SHIM_SOCKET_DIR) and its
  // runtime's state (env PEAPOD_SHIM_RUNTIME_ROOT); empty = the shim's defaults.
  std::string socket_dir;
  std::string runtime_root;
  // How long `start` (or `delete`) may take.
  std::chrono::seconds start_timeout{10};
};

// The absolute path of a helper binary: `name` itself if absolute; else the
// file of that name next to /proc/self/exe, then at <exe dir>/../../<build_dir>
// (a binary run from its build tree: build/cri/server/peapodd finds
// build/shim/<name> with build_dir "shim"), then in PATH. NotFound names
// every place looked at.
absl::StatusOr<std::string> FindBinary(const std::string& name, const std::string& build_dir);

// How a process ended (Wait/Delete).
struct ExitInfo {
  uint32_t pid = 0;
  uint32_t exit_status = 0;
  int64_t exited_at_ns = 0;  // nanoseconds since the epoch
};

class ShimClient {
 public:
  // Runs `<binary> -namespace N -address A -publish-binary "" -id <pod_id> start`
  // in pod_dir (which holds the infra bundle: config.json, and where the shim
  // writes `address`). A shim already serving the pod is reused. Returns the
  // ttrpc address ("unix:///..."). The shim daemonizes: peapodd is not its
  // parent once `start` has returned.
  static absl::StatusOr<std::string> StartShim(const ShimOptions& o, const std::string& pod_id,
                                               const std::string& pod_dir);
  // Waits (up to 1 s) for a shim that was told to shut down to remove its
  // socket, as it does right before it exits.
  static void AwaitExit(const std::string& address);
  // Runs `<binary> ... -id <id> -bundle <bundle> delete`: cleans up after a
  // task whose shim is gone (the runtime's state, cgroup and rootfs mount).
  static absl::Status DeleteAction(const ShimOptions& o, const std::string& id,
                                   const std::string& bundle);
  // Connects to a running shim; Unavailable if it is gone.
  static absl::StatusOr<std::unique_ptr<ShimClient>> Connect(const std::string& address);

  // Task API, one method per RPC used by peapodd. Errors keep the shim's
  // status code (NotFound for an unknown id, ...). exec_id "" = the container.
  absl::StatusOr<uint32_t> Create(const task::CreateTaskRequest& req);  // pid
  absl::StatusOr<uint32_t> Start(const std::string& id, const std::string& exec_id = "");
  absl::Status Kill(const std::string& id, uint32_t signal, bool all = false,
                    const std::string& exec_id = "");
  // Blocks until the process exits or timeout passes (DeadlineExceeded).
  absl::StatusOr<ExitInfo> Wait(const std::string& id, const std::string& exec_id = "",
                                std::chrono::nanoseconds timeout = std::chrono::nanoseconds(0));
  absl::StatusOr<task::StateResponse> State(const std::string& id, const std::string& exec_id = "");
  absl::StatusOr<ExitInfo> Delete(const std::string& id, const std::string& exec_id = "");
  absl::Status Exec(const task::ExecProcessRequest& req);
  absl::Status Update(const task::UpdateTaskRequest& req);
  absl::StatusOr<task::StatsResponse> Stats(const std::string& id);
  absl::StatusOr<task::PidsResponse> Pids(const std::string& id);
  absl::Status CloseIO(const std::string& id, const std::string& exec_id, bool stdin);
  // peapod.shim.v1.Logs/Attach: the process's output from now on also into
  // these fifos (their read ends open; "" = none).
  absl::Status AttachOutput(const std::string& id, const std::string& stdout_fifo,
                            const std::string& stderr_fifo);
  // The terminal size of a process started with a terminal.
  absl::Status ResizePty(const std::string& id, const std::string& exec_id, uint32_t width,
                         uint32_t height);
  // peapod.shim.v1.Logs/Reopen: the shim closes and reopens container id's CRI log.
  absl::Status ReopenLog(const std::string& id);
  // Asks the shim to exit (it does only when it has no container left).
  absl::Status Shutdown(const std::string& id, bool now = false);

  ttrpc::Client& raw() { return *client_; }

 private:
  explicit ShimClient(std::unique_ptr<ttrpc::Client> c) : client_(std::move(c)) {}
  std::unique_ptr<ttrpc::Client> client_;
};

}  // namespace peapod::cri
