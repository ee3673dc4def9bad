// containerd.task.v2.Task: the Task API containerd (and peapodd) drive the
// shim with. Handlers are thin: they translate the protobuf request once, call
// the Launcher, update the Process state machines and publish events.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "github.com/containerd/containerd/runtime/v2/task/shim.pb.h"
#include "shim/events.h"
#include "shim/oom.h"
#include "shim/process.h"
#include "shim/reaper.h"
#include "shim/runtime_set.h"
#include "shim/ttrpc/server.h"

namespace peapod::shim {

inline constexpr char kTaskService[] = "containerd.task.v2.Task";
// peapod's own service: Reopen(containerd.task.v2.CloseIORequest{id, exec_id})
// -> google.protobuf.Empty closes and reopens a process's CRI log file.
inline constexpr char kLogsService[] = "peapod.shim.v1.Logs";

// One container: its init, its execs, and the rootfs the shim mounted.
struct Container {
  std::string id, bundle;
  Runtime* runtime = nullptr;  // the launcher library or a runc-compatible binary
  bool rootfs_mounted = false;
  std::shared_ptr<Process> init;
  std::map<std::string, std::shared_ptr<Process>> execs;
  std::map<std::string, std::string> exec_specs;  // exec id -> OCI process JSON, until Start
  std::mutex op_mu;                               // serializes runtime calls on this container
};

class TaskService {
 public:
  // on_shutdown runs (once) when Shutdown finds no container left.
  TaskService(Reaper* reaper, RuntimeSet* runtimes, Publisher* publisher,
              std::function<void()> on_shutdown);

  // Registers every Task method on the server.
  void Register(ttrpc::Server* server);

  // The Task methods (one per RPC of shim.proto).
  absl::StatusOr<containerd::task::v2::CreateTaskResponse> Create(
      const containerd::task::v2::CreateTaskRequest& req);
  absl::StatusOr<containerd::task::v2::StartResponse> Start(
      const containerd::task::v2::StartRequest& req);
  absl::StatusOr<containerd::task::v2::DeleteResponse> Delete(
      const containerd::task::v2::DeleteRequest& req);
  absl::StatusOr<google::protobuf::Empty> Exec(const containerd::task::v2::ExecProcessRequest& req);
  absl::StatusOr<containerd::task::v2::StateResponse> State(
      const containerd::task::v2::StateRequest& req);
  absl::StatusOr<google::protobuf::Empty> Kill(const containerd::task::v2::KillRequest& req);
  absl::StatusOr<containerd::task::v2::PidsResponse> Pids(
      const containerd::task::v2::PidsRequest& req);
  absl::StatusOr<google::protobuf::Empty> Pause(const containerd::task::v2::PauseRequest& req);
  absl::StatusOr<google::protobuf::Empty> Resume(const containerd::task::v2::ResumeRequest& req);
  absl::StatusOr<google::protobuf::Empty> ResizePty(
      const containerd::task::v2::ResizePtyRequest& req);
  absl::StatusOr<google::protobuf::Empty> CloseIO(const containerd::task::v2::CloseIORequest& req);
  absl::StatusOr<google::protobuf::Empty> Update(
      const containerd::task::v2::UpdateTaskRequest& req);
  absl::StatusOr<containerd::task::v2::WaitResponse> Wait(
      const containerd::task::v2::WaitRequest& req);
  absl::StatusOr<containerd::task::v2::StatsResponse> Stats(
      const containerd::task::v2::StatsRequest& req);
  absl::StatusOr<containerd::task::v2::ConnectResponse> Connect(
      const containerd::task::v2::ConnectRequest& req);
  absl::StatusOr<google::protobuf::Empty> Shutdown(
      const containerd::task::v2::ShutdownRequest& req);
  absl::StatusOr<google::protobuf::Empty> Checkpoint(
      const containerd::task::v2::CheckpointTaskRequest& req);

  // peapod.shim.v1.Logs/Reopen: after a log rotation (rename), new records
  // go to a new file at the log's path.
  absl::StatusOr<google::protobuf::Empty> ReopenLog(
      const containerd::task::v2::CloseIORequest& req);
  // peapod.shim.v1.Logs/Attach: a copy of a process's output from now on into
  // the fifos named by stdout and stderr (CRI Attach; stdio.h).
  absl::StatusOr<google::protobuf::Empty> AttachOutput(
      const containerd::task::v2::ExecProcessRequest& req);

  // Number of containers the shim holds.
  int containers() const;

 private:
  absl::StatusOr<std::shared_ptr<Container>> Find(const std::string& id) const;
  absl::StatusOr<std::shared_ptr<Process>> FindProcess(const std::string& id,
                                                       const std::string& exec_id) const;
  absl::StatusOr<containerd::task::v2::StartResponse> StartExec(Container& c,
                                                                const std::string& exec_id);
  // Watches pid and records its exit on p (and publishes TaskExit). For an
  // init (c set) sharing a PID namespace, first kills what is left.
  void WatchExit(const std::shared_ptr<Process>& p, pid_t pid,
                 std::shared_ptr<Container> c = nullptr);

  Reaper* reaper_;
  RuntimeSet* runtimes_;
  Publisher* publisher_;
  std::function<void()> on_shutdown_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Container>> containers_;
  OomWatcher oom_;  // last: its thread calls Publish until it is destroyed
};

// Fills a protobuf Timestamp.
void SetTimestamp(const timespec& ts, google::protobuf::Timestamp* out);

}  // namespace peapod::shim
