// The Task methods that act on a running task: state, signals, stdio,
// resources, waiting, and the shim's own life (Connect, Shutdown).
#include <signal.h>
#include <unistd.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "shim/service.h"
#include "shim/stats.h"

namespace peapod::shim {

namespace task = containerd::task::v2;
namespace events = containerd::events;
using google::protobuf::Empty;

namespace {

containerd::v1::types::Status ToProto(ProcState s) {
  switch (s) {
    case ProcState::kCreated:
      return containerd::v1::types::CREATED;
    case ProcState::kRunning:
      return containerd::v1::types::RUNNING;
    case ProcState::kPaused:
      return containerd::v1::types::PAUSED;
    case ProcState::kStopped:
      return containerd::v1::types::STOPPED;
  }
  return containerd::v1::types::UNKNOWN;
}

}  // namespace

absl::StatusOr<task::StateResponse> TaskService::State(const task::StateRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  absl::StatusOr<std::shared_ptr<Process>> p = FindProcess(req.id(), req.exec_id());
  if (!p.ok()) return p.status();
  ProcessStatus st = (*p)->status();
  task::StateResponse resp;
  resp.set_id(req.exec_id().empty() ? req.id() : req.exec_id());
  resp.set_exec_id(req.exec_id());
  resp.set_bundle((*c)->bundle);
  resp.set_pid(st.pid);
  resp.set_status(ToProto(st.state));
  resp.set_stdin((*p)->paths().stdin_path);
  resp.set_stdout((*p)->paths().stdout_path);
  resp.set_stderr((*p)->paths().stderr_path);
  resp.set_terminal((*p)->paths().terminal);
  resp.set_exit_status(st.exit_status);
  SetTimestamp(st.exited_at, resp.mutable_exited_at());
  return resp;
}

absl::StatusOr<Empty> TaskService::Kill(const task::KillRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  absl::StatusOr<std::shared_ptr<Process>> p = FindProcess(req.id(), req.exec_id());
  if (!p.ok()) return p.status();
  ProcessStatus st = (*p)->status();
  if (st.state == ProcState::kStopped && !req.all()) {
    return absl::NotFoundError("process already finished");
  }
  if (!req.exec_id().empty()) {
    if (st.pid == 0) return absl::FailedPreconditionError("exec has not started");
    if (::kill(st.pid, static_cast<int>(req.signal())) != 0) {
      return absl::NotFoundError(absl::StrCat("kill ", st.pid, ": process already finished"));
    }
    return Empty();
  }
  absl::Status s = (*c)->runtime->Kill(req.id(), static_cast<int>(req.signal()), req.all());
  if (!s.ok() && (*p)->status().state == ProcState::kStopped) {
    return absl::NotFoundError("process already finished");
  }
  if (!s.ok()) return s;
  return Empty();
}

absl::StatusOr<task::PidsResponse> TaskService::Pids(const task::PidsRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  absl::StatusOr<std::vector<pid_t>> pids = (*c)->runtime->Pids(req.id());
  if (!pids.ok()) return pids.status();
  // Exec processes carry their exec id, as containerd's runc shim reports them.
  std::map<pid_t, std::string> execs;
  {
    std::lock_guard lock(mu_);
    for (const auto& [exec_id, p] : (*c)->execs) {
      if (pid_t pid = p->status().pid; pid > 0) execs[pid] = exec_id;
    }
  }
  task::PidsResponse resp;
  for (pid_t pid : *pids) {
    containerd::v1::types::ProcessInfo* info = resp.add_processes();
    info->set_pid(pid);
    if (auto it = execs.find(pid); it != execs.end()) {
      containerd::runc::v1::ProcessDetails details;
      details.set_exec_id(it->second);
      info->mutable_info()->set_type_url("containerd.runc.v1.ProcessDetails");
      info->mutable_info()->set_value(details.SerializeAsString());
    }
  }
  return resp;
}

absl::StatusOr<Empty> TaskService::Pause(const task::PauseRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  std::lock_guard op((*c)->op_mu);
  if (absl::Status s = (*c)->runtime->Pause(req.id()); !s.ok()) return s;
  (*c)->init->SetState(ProcState::kPaused);
  events::TaskPaused ev;
  ev.set_container_id(req.id());
  publisher_->Publish("/tasks/paused", ev);
  return Empty();
}

absl::StatusOr<Empty> TaskService::Resume(const task::ResumeRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  std::lock_guard op((*c)->op_mu);
  if (absl::Status s = (*c)->runtime->Resume(req.id()); !s.ok()) return s;
  (*c)->init->SetState(ProcState::kRunning);
  events::TaskResumed ev;
  ev.set_container_id(req.id());
  publisher_->Publish("/tasks/resumed", ev);
  return Empty();
}

absl::StatusOr<Empty> TaskService::ResizePty(const task::ResizePtyRequest& req) {
  absl::StatusOr<std::shared_ptr<Process>> p = FindProcess(req.id(), req.exec_id());
  if (!p.ok()) return p.status();
  if ((*p)->stdio() == nullptr) return absl::FailedPreconditionError("process has no stdio yet");
  if (absl::Status s = (*p)->stdio()->Resize(req.width(), req.height()); !s.ok()) return s;
  return Empty();
}

absl::StatusOr<Empty> TaskService::CloseIO(const task::CloseIORequest& req) {
  absl::StatusOr<std::shared_ptr<Process>> p = FindProcess(req.id(), req.exec_id());
  if (!p.ok()) return p.status();
  if (req.stdin() && (*p)->stdio() != nullptr) (*p)->stdio()->CloseStdin();
  return Empty();
}

absl::StatusOr<Empty> TaskService::ReopenLog(const task::CloseIORequest& req) {
  absl::StatusOr<std::shared_ptr<Process>> p = FindProcess(req.id(), req.exec_id());
  if (!p.ok()) return p.status();
  CriLog* log = (*p)->stdio() != nullptr ? (*p)->stdio()->log() : nullptr;
  if (log == nullptr) {
    return absl::FailedPreconditionError(
        absl::StrCat("process ", req.exec_id().empty() ? req.id() : req.exec_id(),
                     " has no crilog:// log to reopen"));
  }
  if (absl::Status s = log->Reopen(); !s.ok()) return s;
  return Empty();
}

absl::StatusOr<Empty> TaskService::AttachOutput(const task::ExecProcessRequest& req) {
  absl::StatusOr<std::shared_ptr<Process>> p = FindProcess(req.id(), req.exec_id());
  if (!p.ok()) return p.status();
  if ((*p)->stdio() == nullptr) {
    return absl::FailedPreconditionError(absl::StrCat("process ", req.id(), " has no stdio"));
  }
  if (absl::Status s = (*p)->stdio()->Attach(req.stdout(), req.stderr()); !s.ok()) return s;
  return Empty();
}

absl::StatusOr<Empty> TaskService::Update(const task::UpdateTaskRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  std::lock_guard op((*c)->op_mu);
  absl::Status s = (*c)->runtime->Update(req.id(), (*c)->bundle, req.resources().value());
  if (!s.ok()) return s;
  return Empty();
}

absl::StatusOr<task::WaitResponse> TaskService::Wait(const task::WaitRequest& req) {
  absl::StatusOr<std::shared_ptr<Process>> p = FindProcess(req.id(), req.exec_id());
  if (!p.ok()) return p.status();
  ProcessStatus st = (*p)->Wait();
  task::WaitResponse resp;
  resp.set_exit_status(st.exit_status);
  SetTimestamp(st.exited_at, resp.mutable_exited_at());
  return resp;
}

absl::StatusOr<task::StatsResponse> TaskService::Stats(const task::StatsRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  absl::StatusOr<std::string> metrics = (*c)->runtime->Metrics(req.id());
  if (!metrics.ok()) return metrics.status();
  task::StatsResponse resp;
  resp.mutable_stats()->set_type_url(kMetricsTypeUrl);
  resp.mutable_stats()->set_value(std::move(*metrics));
  return resp;
}

absl::StatusOr<task::ConnectResponse> TaskService::Connect(const task::ConnectRequest& req) {
  task::ConnectResponse resp;
  resp.set_shim_pid(getpid());
  resp.set_version("peapod");
  if (absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id()); c.ok()) {
    resp.set_task_pid((*c)->init->status().pid);
  }
  return resp;
}

absl::StatusOr<Empty> TaskService::Shutdown(const task::ShutdownRequest&) {
  // A grouped shim lives on while any container of its group does.
  if (containers() == 0 && on_shutdown_) on_shutdown_();
  return Empty();
}

absl::StatusOr<Empty> TaskService::Checkpoint(const task::CheckpointTaskRequest&) {
  return absl::UnimplementedError(
      "checkpoint is not supported by containerd-shim-peapod-v2 (no CRIU integration)");
}

}  // namespace peapod::shim
