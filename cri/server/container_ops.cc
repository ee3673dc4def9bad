// Stop, remove, refresh and recovery of one container; see container_ops.h.
#include "cri/server/container_ops.h"
#include "cri/server/container_hooks.h"
#include "cri/util/time.h"

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <set>

#include "cri/images/fs_util.h"
#include "cri/util/str.h"
#include "oci/cgroups/manager.h"
#include "oci/spec/spec.h"

namespace peapod::cri {
namespace {

int64_t TimestampNs(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000000LL + t.nanos();
}

// The container's config.json as written at create time; nullopt if gone
// (a reboot empties the state directory).
std::optional<oci::Spec> LoadBundleSpec(const Daemon& d, const std::string& id) {
  absl::StatusOr<oci::Spec> spec = oci::LoadSpec(ContainerBundleDir(d, id) + "/config.json");
  if (!spec.ok()) return std::nullopt;
  return *std::move(spec);
}

// The container's cgroup manager, from its config.json; nullptr if unknown.
std::unique_ptr<cgroups::Manager> OpenCgroup(const Daemon& d, const std::string& id) {
  std::optional<oci::Spec> spec = LoadBundleSpec(d, id);
  if (!spec || !spec->linux) return nullptr;
  absl::StatusOr<std::unique_ptr<cgroups::Manager>> m =
      cgroups::Open(spec->linux->cgroups_path, id);
  return m.ok() ? std::move(*m) : nullptr;
}

// Completed, Error or OOMKilled, from the exit status and the memory cgroup.
std::string ExitReason(const Daemon& d, const std::string& id, uint32_t exit_status) {
  if (std::unique_ptr<cgroups::Manager> cg = OpenCgroup(d, id); cg && cg->Exists()) {
    absl::StatusOr<uint64_t> ooms = cg->OomKillCount();
    if (ooms.ok() && *ooms > 0) return "OOMKilled";
  }
  return exit_status == 0 ? "Completed" : "Error";
}

// Persists an observed exit once.
absl::StatusOr<ContainerRecord> RecordExit(Daemon& d, ContainerRecord c, uint32_t exit_status,
                                           int64_t exited_at_ns, std::string message = "") {
  c.state = ContainerState::kExited;
  c.exit_code = static_cast<int32_t>(exit_status);
  c.finished_at = exited_at_ns > 0 ? exited_at_ns : NowNs();
  c.reason = ExitReason(d, c.id, exit_status);
  c.message = std::move(message);
  if (absl::Status s = d.containers->Update(c); !s.ok()) return s;
  return c;
}

bool Live(ContainerState s) {
  return s == ContainerState::kCreated || s == ContainerState::kRunning ||
         s == ContainerState::kUnknown;
}

// Kills whatever is left in the container's cgroup and removes it; used
// when no shim can do it.
void DestroyCgroup(Daemon& d, const std::string& id) {
  if (std::unique_ptr<cgroups::Manager> cg = OpenCgroup(d, id); cg && cg->Exists()) {
    if (absl::Status s = cg->Destroy(/*kill=*/true); !s.ok()) {
      d.log.Warn(Cat("container ", id, ": removing its cgroup: ", s.ToString()));
    }
  }
}

}  // namespace

std::string ContainerBundleDir(const Daemon& d, const std::string& id) {
  return Cat(d.config.state_dir, "/containers/", id);
}

std::string ContainerStdinPath(const Daemon& d, const std::string& id) {
  return ContainerBundleDir(d, id) + "/stdin";
}

absl::StatusOr<std::unique_ptr<ShimClient>> ConnectPodShim(Daemon& d, const std::string& pod_id) {
  absl::StatusOr<PodRecord> pod = d.pods->Get(pod_id);
  if (!pod.ok()) return pod.status();
  if (pod->shim_address.empty()) {
    return absl::UnavailableError(Cat("pod sandbox ", pod_id, " has no shim"));
  }
  return ShimClient::Connect(pod->shim_address);
}

absl::StatusOr<oci::Process> ContainerExecProcess(Daemon& d, const ContainerRecord& c,
                                                  const std::vector<std::string>& cmd, bool tty) {
  absl::StatusOr<oci::Spec> spec = oci::LoadSpec(ContainerBundleDir(d, c.id) + "/config.json");
  if (!spec.ok()) return spec.status();
  if (!spec->process) return absl::InternalError(Cat("container ", c.id, " has no process"));
  oci::Process process = *spec->process;
  process.args = cmd;
  process.terminal = tty;
  process.console_size.reset();
  return process;
}

absl::StatusOr<ContainerRecord> RunningContainer(Daemon& d, const std::string& id) {
  absl::StatusOr<ContainerRecord> c = RefreshContainer(d, id);
  if (!c.ok()) return c.status();
  if (c->state != ContainerState::kRunning) {
    return absl::FailedPreconditionError(Cat("container ", c->id, " is not running"));
  }
  return c;
}

absl::StatusOr<stream::ExecRequest> NewStreamRequest(Daemon& d, const std::string& container_id,
                                                     bool in, bool out, bool err, bool tty,
                                                     ContainerRecord* record) {
  if (!in && !out && !err) {
    return absl::InvalidArgumentError("one of stdin, stdout and stderr must be true");
  }
  if (tty && err) return absl::InvalidArgumentError("tty and stderr cannot both be true");
  absl::StatusOr<ContainerRecord> c = RunningContainer(d, container_id);
  if (!c.ok()) return c.status();
  if (d.streams == nullptr) return absl::UnavailableError("the streaming server is not running");
  stream::ExecRequest r;
  r.container_id = c->id;
  r.tty = tty;
  r.stdin = in;
  r.stdout = out;
  r.stderr = err;
  *record = *std::move(c);
  return r;
}

absl::StatusOr<ContainerRecord> RefreshContainer(Daemon& d, const std::string& id) {
  absl::StatusOr<ContainerRecord> c = d.containers->Get(id);
  if (!c.ok() || !Live(c->state)) return c;
  ObjectLocks::Held held = d.container_locks.TryLock(c->id);
  if (!held) return c;           // an RPC changing it holds the lock
  c = d.containers->Get(c->id);  // as of holding the lock
  if (!c.ok() || !Live(c->state)) return c;
  absl::StatusOr<PodRecord> pod = d.pods->Get(c->pod_id);
  if (pod.ok() && pod->shim_address.empty()) {
    // The pod never got a shim (or lost it for good): nothing ran this container.
    return RecordExit(d, *c, 255, 0,
                      Cat("exit status lost: pod sandbox ", c->pod_id, " has no shim"));
  }
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  absl::StatusOr<task::StateResponse> st =
      shim.ok() ? (*shim)->State(c->id) : absl::StatusOr<task::StateResponse>(shim.status());
  if (absl::IsNotFound(st.status())) {
    // The pod or its shim no longer knows the container: its exit is lost.
    return RecordExit(d, *c, 255, 0, Cat("exit status lost: ", st.status().message()));
  }
  if (!st.ok()) {
    c->state = ContainerState::kUnknown;  // Not persisted: the shim may answer later.
    c->reason = "ShimUnreachable";
    c->message = std::string(st.status().message());
    return c;
  }
  switch (st->status()) {
    case containerd::v1::types::STOPPED:
      return RecordExit(d, *c, st->exit_status(), TimestampNs(st->exited_at()));
    case containerd::v1::types::RUNNING:
    case containerd::v1::types::PAUSED:
      if (c->state != ContainerState::kRunning) {
        // Started, but peapodd died before it recorded so.
        c->state = ContainerState::kRunning;
        if (c->started_at == 0) c->started_at = NowNs();
        c->pid = st->pid();
        if (absl::Status s = d.containers->Update(*c); !s.ok()) return s;
      }
      return c;
    default:
      if (c->state == ContainerState::kUnknown) c->state = ContainerState::kCreated;
      return c;
  }
}

absl::StatusOr<LockedContainer> LockContainer(Daemon& d, const std::string& id_or_prefix) {
  absl::StatusOr<std::string> id = d.containers->Resolve(id_or_prefix);
  if (!id.ok()) return id.status();
  LockedContainer out;
  out.lock = d.container_locks.Lock(*id);
  absl::StatusOr<ContainerRecord> c = RefreshContainer(d, *id);
  if (!c.ok()) return c.status();  // e.g. removed while we waited
  out.record = *std::move(c);
  return out;
}

absl::Status StopOneContainer(Daemon& d, const std::string& id, int64_t timeout_s) {
  absl::StatusOr<LockedContainer> locked = LockContainer(d, id);
  if (!locked.ok()) return locked.status();
  std::optional<ContainerRecord> c = std::move(locked->record);
  if (!Live(c->state)) return absl::OkStatus();
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  if (!shim.ok() || c->state == ContainerState::kUnknown) {
    // No shim to ask: kill what its cgroup holds and call it exited.
    DestroyCgroup(d, c->id);
    return RecordExit(d, *c, 128 + SIGKILL, 0, "stopped while its shim was unreachable").status();
  }
  ShimClient& sc = **shim;
  // The preStop hook, if any, before the stop signal and within the same
  // timeout: what it uses is taken from the signal's grace period.
  // The grace period is kept to the nanosecond: rounding it down to whole
  // seconds after the hook cut a 2 s timeout to 1 s.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  if (timeout_s > 0 && c->state == ContainerState::kRunning) RunPreStopHook(d, *c, deadline);
  auto grace = std::chrono::duration_cast<std::chrono::nanoseconds>(
      deadline - std::chrono::steady_clock::now());
  int sig = SIGTERM;
  if (std::optional<oci::Spec> spec = LoadBundleSpec(d, c->id)) {
    if (auto it = spec->annotations.find(kStopSignalAnnotation); it != spec->annotations.end()) {
      if (absl::StatusOr<int> n = ParseSignal(it->second); n.ok()) sig = *n;
    }
  }
  // A created container never ran its program: nothing to stop gracefully.
  bool graceful = grace.count() > 0 && c->state == ContainerState::kRunning;
  absl::Status k = sc.Kill(c->id, graceful ? sig : SIGKILL, /*all=*/!graceful);
  if (!k.ok() && !absl::IsNotFound(k)) return k;
  if (graceful) {
    absl::StatusOr<ExitInfo> w = sc.Wait(c->id, "", grace);
    if (!w.ok() && !absl::IsDeadlineExceeded(w.status())) return w.status();
    if (!w.ok()) {
      d.log.Info(Cat("container ", c->id, " did not stop within ", timeout_s, "s: SIGKILL"));
      k = sc.Kill(c->id, SIGKILL, /*all=*/true);
      if (!k.ok() && !absl::IsNotFound(k)) return k;
    }
  }
  absl::StatusOr<ExitInfo> w = sc.Wait(c->id, "", std::chrono::seconds(30));
  if (!w.ok()) return w.status();
  absl::StatusOr<ContainerRecord> after = RefreshContainer(d, c->id);
  if (!after.ok()) return after.status();
  if (after->state != ContainerState::kExited) {
    return absl::InternalError(
        Cat("container ", c->id, " still ", static_cast<int>(after->state), " after it exited"));
  }
  return absl::OkStatus();
}

absl::Status RemoveOneContainer(Daemon& d, const std::string& id) {
  absl::StatusOr<std::string> full = d.containers->Resolve(id);
  if (absl::IsNotFound(full.status())) return absl::OkStatus();
  if (!full.ok()) return full.status();
  ObjectLocks::Held held = d.container_locks.Lock(*full);
  absl::StatusOr<ContainerRecord> c = d.containers->Get(*full);  // as of holding the lock
  if (absl::IsNotFound(c.status())) return absl::OkStatus();     // removed while we waited
  if (!c.ok()) return c.status();
  // 1. Nothing of it may run any more.
  if (absl::Status s = StopOneContainer(d, c->id, 0); !s.ok()) {
    return absl::Status(s.code(), Cat("stopping before removal: ", s.message()));
  }
  // 2. The shim forgets it (and its runtime removes the cgroup).
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  if (shim.ok()) {
    absl::StatusOr<ExitInfo> del = (*shim)->Delete(c->id);
    if (!del.ok() && !absl::IsNotFound(del.status())) return del.status();
  }
  DestroyCgroup(d, c->id);
  // 3. Its root filesystem, its bundle, then the record: a crash before the
  // last step leaves a record, and removing it again finishes the job.
  if (absl::Status s = d.images->Unmount(c->id); !s.ok()) return s;
  if (absl::Status s = images::RemoveAll(ContainerBundleDir(d, c->id)); !s.ok()) return s;
  return d.containers->Remove(c->id);
}

absl::Status RecoverContainers(Daemon& d) {
  std::set<std::string> known;
  for (const ContainerRecord& c : d.containers->List()) {
    known.insert(c.id);
    absl::StatusOr<ContainerRecord> r = RefreshContainer(d, c.id);
    if (!r.ok()) {
      d.log.Warn(Cat("container ", c.id, ": recovering state: ", r.status().ToString()));
    } else if (r->state == ContainerState::kUnknown) {
      d.log.Warn(Cat("container ", c.id, ": ", r->message));
    }
  }
  // Leftovers of a CreateContainer that died before recording its container:
  // bundles (with the shim task they name) and rootfs directories.
  std::set<std::string> orphans;
  for (const std::string& dir :
       {Cat(d.config.state_dir, "/containers"), Cat(d.config.root, "/containers")}) {
    DIR* dp = opendir(dir.c_str());
    if (dp == nullptr) continue;
    while (struct dirent* e = readdir(dp)) {
      std::string name = e->d_name;
      if (e->d_type == DT_DIR && name[0] != '.' && !known.contains(name)) orphans.insert(name);
    }
    closedir(dp);
  }
  for (const std::string& id : orphans) {
    d.log.Info(Cat("removing container ", id, " left half-created by an earlier peapodd"));
    if (std::optional<oci::Spec> spec = LoadBundleSpec(d, id)) {
      auto pod = spec->annotations.find("io.kubernetes.cri.sandbox-id");
      if (pod != spec->annotations.end()) {
        if (absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, pod->second);
            shim.ok()) {
          (void)(*shim)->Kill(id, SIGKILL, /*all=*/true);
          (void)(*shim)->Wait(id, "", std::chrono::seconds(10));
          (void)(*shim)->Delete(id);
        }
      }
    }
    DestroyCgroup(d, id);
    if (absl::Status s = d.images->Unmount(id); !s.ok()) d.log.Warn(s.ToString());
    if (absl::Status s = images::RemoveAll(ContainerBundleDir(d, id)); !s.ok()) {
      d.log.Warn(s.ToString());
    }
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
