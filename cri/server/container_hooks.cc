// postStart / preStop (see container_hooks.h).
#include "cri/server/container_hooks.h"

#include <optional>

#include "cri/lifecycle/lifecycle.h"
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

absl::StatusOr<std::optional<Lifecycle>> LifecycleOf(const StringMap& annotations) {
  auto it = annotations.find(std::string(kLifecycleAnnotation));
  if (it == annotations.end()) return std::optional<Lifecycle>();
  absl::StatusOr<Lifecycle> l = ParseLifecycle(it->second);
  if (!l.ok()) return l.status();
  return std::optional<Lifecycle>(std::move(*l));
}

// The hook's context: the pod's namespace and IP, exec through ExecSync.
HookContext ContextFor(Daemon& d, const ContainerRecord& c,
                       std::chrono::steady_clock::time_point deadline) {
  HookContext ctx;
  ctx.deadline = deadline;
  if (absl::StatusOr<PodRecord> pod = d.pods->Get(c.pod_id); pod.ok()) {
    ctx.pod_ip = pod->ip;
    if (pod->network_mode != NamespaceMode::kNode) ctx.netns_path = pod->netns_path;
  }
  ctx.exec = [&d, id = c.id](const std::vector<std::string>& cmd,
                             std::chrono::milliseconds timeout) -> absl::StatusOr<ExecHookResult> {
    ::runtime::v1::ExecSyncRequest req;
    req.set_container_id(id);
    for (const std::string& a : cmd) req.add_cmd(a);
    req.set_timeout(std::max<int64_t>(1, (timeout.count() + 999) / 1000));
    ::runtime::v1::ExecSyncResponse resp;
    if (absl::Status s = HandleExecSync(d, req, resp); !s.ok()) return s;
    return ExecHookResult{resp.exit_code(), Cat(resp.stdout(), resp.stderr())};
  };
  return ctx;
}

}  // namespace

absl::Status CheckLifecycleAnnotation(const StringMap& annotations) {
  return LifecycleOf(annotations).status();
}

absl::Status RunPostStartHook(Daemon& d, const ContainerRecord& c) {
  absl::StatusOr<std::optional<Lifecycle>> l = LifecycleOf(c.annotations);
  if (!l.ok()) return l.status();
  if (!*l || !(*l)->post_start) return absl::OkStatus();
  auto deadline = std::chrono::steady_clock::now() + kPostStartTimeout;
  absl::Status hook = RunLifecycleHook("PostStart", *(*l)->post_start, ContextFor(d, c, deadline));
  if (hook.ok()) return absl::OkStatus();
  d.log.Info(Cat("container ", c.id, ": ", hook.message(), ": killing it"));
  if (absl::Status s = StopOneContainer(d, c.id, 0); !s.ok()) {
    d.log.Warn(Cat("container ", c.id, ": stopping after its failed postStart: ", s.ToString()));
  }
  if (absl::StatusOr<ContainerRecord> now = d.containers->Get(c.id); now.ok()) {
    now->reason = "PostStartHookError";
    now->message = std::string(hook.message());
    (void)d.containers->Update(*now);
  }
  absl::StatusCode code = absl::IsDeadlineExceeded(hook) ? absl::StatusCode::kDeadlineExceeded
                                                         : absl::StatusCode::kFailedPrecondition;
  return absl::Status(code, Cat("container ", c.id, ": ", hook.message()));
}

void RunPreStopHook(Daemon& d, const ContainerRecord& c,
                    std::chrono::steady_clock::time_point deadline) {
  absl::StatusOr<std::optional<Lifecycle>> l = LifecycleOf(c.annotations);
  if (!l.ok()) {
    d.log.Warn(Cat("container ", c.id, ": ", l.status().message()));
    return;
  }
  if (!*l || !(*l)->pre_stop) return;
  absl::Status hook = RunLifecycleHook("PreStop", *(*l)->pre_stop, ContextFor(d, c, deadline));
  if (!hook.ok()) d.log.Info(Cat("container ", c.id, ": ", hook.message()));
}

}  // namespace peapod::cri
