#include "shim/service.h"

#include <signal.h>
#include <stdio.h>

#include "absl/strings/str_cat.h"
#include "github.com/containerd/containerd/api/events/task.pb.h"
#include "oci/runtime/state_store.h"
#include "oci/spec/json.h"
#include "shim/rootfs.h"
#include "shim/runtime_choice.h"
#include "shim/ttrpc/thread.h"

namespace peapod::shim {

namespace task = containerd::task::v2;
namespace events = containerd::events;
using google::protobuf::Empty;

void SetTimestamp(const timespec& ts, google::protobuf::Timestamp* out) {
  out->set_seconds(ts.tv_sec);
  out->set_nanos(static_cast<int32_t>(ts.tv_nsec));
}

namespace {

// Adapts a typed method to a ttrpc handler: parse once, call, serialize once.
template <typename Req, typename Resp>
ttrpc::Handler Bind(TaskService* s, absl::StatusOr<Resp> (TaskService::*m)(const Req&)) {
  return [s, m](std::string_view payload) -> absl::StatusOr<std::string> {
    Req req;
    if (!req.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
      return absl::InvalidArgumentError(absl::StrCat("undecodable ", req.GetTypeName()));
    }
    absl::StatusOr<Resp> resp = (s->*m)(req);
    if (!resp.ok()) return resp.status();
    return resp->SerializeAsString();
  };
}

}  // namespace

TaskService::TaskService(Reaper* reaper, RuntimeSet* runtimes, Publisher* publisher,
                         std::function<void()> on_shutdown)
    : reaper_(reaper),
      runtimes_(runtimes),
      publisher_(publisher),
      on_shutdown_(std::move(on_shutdown)),
      oom_([this](const std::string& id) {
        events::TaskOOM ev;
        ev.set_container_id(id);
        publisher_->Publish("/tasks/oom", ev);
      }) {}

void TaskService::Register(ttrpc::Server* server) {
  auto reg = [&](const char* name, ttrpc::Handler h) {
    server->Register(kTaskService, name, std::move(h));
  };
  reg("State", Bind(this, &TaskService::State));
  reg("Create", Bind(this, &TaskService::Create));
  reg("Start", Bind(this, &TaskService::Start));
  reg("Delete", Bind(this, &TaskService::Delete));
  reg("Pids", Bind(this, &TaskService::Pids));
  reg("Pause", Bind(this, &TaskService::Pause));
  reg("Resume", Bind(this, &TaskService::Resume));
  reg("Checkpoint", Bind(this, &TaskService::Checkpoint));
  reg("Kill", Bind(this, &TaskService::Kill));
  reg("Exec", Bind(this, &TaskService::Exec));
  reg("ResizePty", Bind(this, &TaskService::ResizePty));
  reg("CloseIO", Bind(this, &TaskService::CloseIO));
  reg("Update", Bind(this, &TaskService::Update));
  reg("Wait", Bind(this, &TaskService::Wait));
  reg("Stats", Bind(this, &TaskService::Stats));
  reg("Connect", Bind(this, &TaskService::Connect));
  reg("Shutdown", Bind(this, &TaskService::Shutdown));
  server->Register(kLogsService, "Reopen", Bind(this, &TaskService::ReopenLog));
  server->Register(kLogsService, "Attach", Bind(this, &TaskService::AttachOutput));
}

int TaskService::containers() const {
  std::lock_guard lock(mu_);
  return static_cast<int>(containers_.size());
}

absl::StatusOr<std::shared_ptr<Container>> TaskService::Find(const std::string& id) const {
  std::lock_guard lock(mu_);
  auto it = containers_.find(id);
  if (it == containers_.end())
    return absl::NotFoundError(absl::StrCat("container ", id, " not found"));
  return it->second;
}

absl::StatusOr<std::shared_ptr<Process>> TaskService::FindProcess(
    const std::string& id, const std::string& exec_id) const {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(id);
  if (!c.ok()) return c.status();
  if (exec_id.empty()) return (*c)->init;
  std::lock_guard lock(mu_);
  auto it = (*c)->execs.find(exec_id);
  if (it == (*c)->execs.end()) {
    return absl::NotFoundError(absl::StrCat("process ", exec_id, " of ", id, " not found"));
  }
  return it->second;
}

namespace {

// True unless config.json puts the container in an existing PID namespace
// (a "pid" entry with a path) or lists no "pid" namespace at all.
bool HasOwnPidNamespace(const std::string& bundle) {
  absl::StatusOr<json::Value> config = json::ParseFile(bundle + "/config.json");
  if (!config.ok()) return true;
  const json::Value* linux_obj = config->Find("linux");
  const json::Value* nss = linux_obj ? linux_obj->Find("namespaces") : nullptr;
  if (nss == nullptr || !nss->is_array()) return false;
  for (const json::Value& ns : nss->as_array()) {
    const json::Value* type = ns.Find("type");
    if (type == nullptr || !type->is_string() || type->as_string() != "pid") continue;
    const json::Value* path = ns.Find("path");
    return path == nullptr || !path->is_string() || path->as_string().empty();
  }
  return false;
}

}  // namespace

void TaskService::WatchExit(const std::shared_ptr<Process>& p, pid_t pid,
                            std::shared_ptr<Container> c) {
  auto finish = [this, p](const Exit& e) {
    // Terminal output still in flight reaches the fifo before the exit is told.
    // So does output on its way into a CRI log.
    if (p->stdio() != nullptr && p->stdio()->copies()) p->stdio()->WaitOutput(1000);
    // An OOM kill is told before the exit it caused.
    if (p->exec_id().empty()) oom_.Check(p->container_id());
    p->SetExited(e.ExitCode(), e.time);
    events::TaskExit ev;
    ev.set_container_id(p->container_id());
    ev.set_id(p->exec_id().empty() ? p->container_id() : p->exec_id());
    ev.set_pid(e.pid);
    ev.set_exit_status(e.ExitCode());
    SetTimestamp(e.time, ev.mutable_exited_at());
    publisher_->Publish("/tasks/exit", ev);
  };
  reaper_->Watch(pid, [this, c, finish](const Exit& e) {
    // Read from the bundle now, not at create (it is still there: Delete
    // comes after the exit).
    if (c == nullptr || HasOwnPidNamespace(c->bundle)) {
      finish(e);
      return;
    }
    // Not on the reaping thread: the runtime's exit must be reaped meanwhile.
    absl::Status s = ttrpc::SpawnDetached([this, c, finish, e] {
      (void)c->runtime->Kill(c->id, SIGKILL, /*all=*/true);
      finish(e);
    });
    if (!s.ok()) finish(e);
  });
}

absl::StatusOr<task::CreateTaskResponse> TaskService::Create(const task::CreateTaskRequest& req) {
  if (!req.checkpoint().empty()) {
    return absl::UnimplementedError("restore from checkpoint is not supported by this shim");
  }
  // The id names the runtime's state dir, and an exec id its files in the
  // bundle: refused here, before anything is mounted or written.
  if (absl::Status s = runtime::ValidateId(req.id(), "task id"); !s.ok()) return s;
  absl::StatusOr<std::string> binary = RuntimeBinaryOf(req);
  if (!binary.ok()) return binary.status();
  auto c = std::make_shared<Container>();
  c->id = req.id();
  c->bundle = req.bundle();
  c->runtime = runtimes_->Get(*binary);
  std::lock_guard op(c->op_mu);
  {
    std::lock_guard lock(mu_);
    if (!containers_.emplace(c->id, c).second) {
      return absl::AlreadyExistsError(absl::StrCat("container ", c->id, " already exists"));
    }
  }
  auto fail = [&](absl::Status s) {
    if (c->rootfs_mounted) (void)UnmountRootfs(c->bundle + "/rootfs");
    std::lock_guard lock(mu_);
    containers_.erase(c->id);
    return s;
  };
  // 1. The snapshot's mounts on <bundle>/rootfs.
  std::vector<MountSpec> mounts;
  for (const auto& m : req.rootfs()) {
    mounts.push_back({m.type(), m.source(), {m.options().begin(), m.options().end()}});
  }
  if (!mounts.empty()) {
    if (absl::Status s = MountRootfs(mounts, c->bundle + "/rootfs"); !s.ok()) return fail(s);
    c->rootfs_mounted = true;
  }
  // 2. Stdio, then the runtime's create.
  StdioPaths paths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  c->init = std::make_shared<Process>(c->id, "", paths);
  absl::StatusOr<std::unique_ptr<Stdio>> io = Stdio::Open(paths);
  if (!io.ok()) return fail(io.status());
  c->init->set_stdio(std::move(*io));
  // `shim delete` after a crash must use the same runtime.
  if (absl::Status s = WriteRuntimeChoice(c->bundle, *binary); !s.ok()) return fail(s);
  absl::StatusOr<pid_t> pid = c->runtime->Create(c->id, c->bundle, *c->init->stdio());
  if (!pid.ok()) return fail(pid.status());
  if (absl::Status s = c->init->stdio()->AfterSpawn(); !s.ok()) {
    (void)c->runtime->Delete(c->id, true);
    return fail(s);
  }
  c->init->SetPid(*pid, ProcState::kCreated);
  if (absl::Status s = oom_.Add(c->id, *pid); !s.ok()) {  // not fatal: no TaskOOM then
    fprintf(stderr, "containerd-shim-peapod-v2: %s: %s\n", c->id.c_str(), s.ToString().c_str());
  }
  WatchExit(c->init, *pid, c);
  // 3. Tell containerd.
  events::TaskCreate ev;
  ev.set_container_id(c->id);
  ev.set_bundle(c->bundle);
  *ev.mutable_rootfs() = req.rootfs();
  ev.mutable_io()->set_stdin(req.stdin());
  ev.mutable_io()->set_stdout(req.stdout());
  ev.mutable_io()->set_stderr(req.stderr());
  ev.mutable_io()->set_terminal(req.terminal());
  ev.set_pid(*pid);
  publisher_->Publish("/tasks/create", ev);
  task::CreateTaskResponse resp;
  resp.set_pid(*pid);
  return resp;
}

absl::StatusOr<task::StartResponse> TaskService::Start(const task::StartRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  std::lock_guard op((*c)->op_mu);
  if (!req.exec_id().empty()) return StartExec(**c, req.exec_id());
  Process& init = *(*c)->init;
  ProcessStatus st = init.status();
  if (st.state != ProcState::kCreated) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot start a ", StateName(st.state), " task"));
  }
  oom_.Settle(req.id());  // its OOM counter is read before it runs
  if (absl::Status s = (*c)->runtime->Start(req.id()); !s.ok()) return s;
  init.SetState(ProcState::kRunning);
  events::TaskStart ev;
  ev.set_container_id(req.id());
  ev.set_pid(st.pid);
  publisher_->Publish("/tasks/start", ev);
  task::StartResponse resp;
  resp.set_pid(st.pid);
  return resp;
}

absl::StatusOr<task::StartResponse> TaskService::StartExec(Container& c,
                                                           const std::string& exec_id) {
  std::shared_ptr<Process> p;
  std::string spec;
  {
    std::lock_guard lock(mu_);
    auto it = c.execs.find(exec_id);
    auto sp = c.exec_specs.find(exec_id);
    if (it == c.execs.end() || sp == c.exec_specs.end()) {
      return absl::NotFoundError(absl::StrCat("exec ", exec_id, " not found or already started"));
    }
    p = it->second;
    spec = std::move(sp->second);
    c.exec_specs.erase(sp);
  }
  absl::StatusOr<std::unique_ptr<Stdio>> io = Stdio::Open(p->paths());
  if (!io.ok()) return io.status();
  p->set_stdio(std::move(*io));
  absl::StatusOr<pid_t> pid = c.runtime->Exec(c.id, c.bundle, exec_id, spec, *p->stdio());
  if (!pid.ok()) {
    p->SetExited(255, Now());  // never ran: Wait must not hang
    // Nor may containerd's copy of its output: drop our ends of the fifos.
    p->set_stdio(nullptr);
    return pid.status();
  }
  if (absl::Status s = p->stdio()->AfterSpawn(); !s.ok()) return s;
  p->SetPid(*pid, ProcState::kRunning);
  WatchExit(p, *pid);
  events::TaskExecStarted ev;
  ev.set_container_id(c.id);
  ev.set_exec_id(exec_id);
  ev.set_pid(*pid);
  publisher_->Publish("/tasks/exec-started", ev);
  task::StartResponse resp;
  resp.set_pid(*pid);
  return resp;
}

absl::StatusOr<task::DeleteResponse> TaskService::Delete(const task::DeleteRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  absl::StatusOr<std::shared_ptr<Process>> p = FindProcess(req.id(), req.exec_id());
  if (!p.ok()) return p.status();
  std::lock_guard op((*c)->op_mu);
  ProcessStatus st = (*p)->status();
  if (st.state == ProcState::kRunning || st.state == ProcState::kPaused) {
    return absl::FailedPreconditionError(
        absl::StrCat("cannot delete a ", StateName(st.state), " process"));
  }
  task::DeleteResponse resp;
  if (!req.exec_id().empty()) {
    std::lock_guard lock(mu_);
    (*c)->execs.erase(req.exec_id());
    (*c)->exec_specs.erase(req.exec_id());
  } else {
    oom_.Remove(req.id());
    // A created init has not run: the runtime kills it on a forced delete.
    absl::Status s = (*c)->runtime->Delete(req.id(), st.state == ProcState::kCreated);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    if (st.state == ProcState::kCreated) {
      reaper_->Unwatch(st.pid);
      (*p)->SetExited(128 + SIGKILL, Now());
    }
    if ((*c)->rootfs_mounted) {
      if (absl::Status u = UnmountRootfs((*c)->bundle + "/rootfs"); !u.ok()) return u;
    }
    std::lock_guard lock(mu_);
    containers_.erase(req.id());
  }
  st = (*p)->status();
  resp.set_pid(st.pid);
  resp.set_exit_status(st.exit_status);
  SetTimestamp(st.exited_at, resp.mutable_exited_at());
  if (req.exec_id().empty()) {
    events::TaskDelete ev;
    ev.set_container_id(req.id());
    ev.set_pid(st.pid);
    ev.set_exit_status(st.exit_status);
    *ev.mutable_exited_at() = resp.exited_at();
    ev.set_id(req.id());
    publisher_->Publish("/tasks/delete", ev);
  }
  return resp;
}

absl::StatusOr<Empty> TaskService::Exec(const task::ExecProcessRequest& req) {
  absl::StatusOr<std::shared_ptr<Container>> c = Find(req.id());
  if (!c.ok()) return c.status();
  if (req.exec_id().empty()) return absl::InvalidArgumentError("exec id is required");
  if (absl::Status s = runtime::ValidateId(req.exec_id(), "exec id"); !s.ok()) return s;
  if ((*c)->init->status().state == ProcState::kStopped) {
    return absl::FailedPreconditionError(absl::StrCat("container ", req.id(), " is stopped"));
  }
  StdioPaths paths{req.stdin(), req.stdout(), req.stderr(), req.terminal()};
  {
    std::lock_guard lock(mu_);
    if ((*c)->execs.count(req.exec_id()) != 0) {
      return absl::AlreadyExistsError(absl::StrCat("exec ", req.exec_id(), " already exists"));
    }
    (*c)->execs[req.exec_id()] = std::make_shared<Process>(req.id(), req.exec_id(), paths);
    (*c)->exec_specs[req.exec_id()] = req.spec().value();
  }
  events::TaskExecAdded ev;
  ev.set_container_id(req.id());
  ev.set_exec_id(req.exec_id());
  publisher_->Publish("/tasks/exec-added", ev);
  return Empty();
}

}  // namespace peapod::shim
