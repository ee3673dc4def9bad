// Create: from a bundle to an init process blocked before exec.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "oci/cgroups/manager.h"
#include "oci/linux/capabilities.h"
#include "oci/linux/console.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/linux/namespaces.h"
#include "oci/linux/process_setup.h"
#include "oci/linux/rootfs.h"
#include "oci/runtime/container_init.h"
#include "oci/runtime/hooks.h"
#include "oci/runtime/process_start.h"
#include "oci/runtime/process_util.h"
#include "oci/runtime/rollback.h"
#include "oci/runtime/runtime.h"
#include "oci/runtime/state_store.h"
#include "oci/seccomp/filter.h"

namespace peapod::runtime {
namespace {

using linux::ErrnoStatus;
using linux::SyncType;

std::string AbsolutePath(const std::string& path) {
  std::error_code ec;
  std::filesystem::path abs = std::filesystem::absolute(path.empty() ? "." : path, ec);
  std::string out = abs.lexically_normal().string();
  while (out.size() > 1 && out.back() == '/') out.pop_back();
  return out;
}

// Checks everything that can be checked before any resource exists, so bad
// input leaves nothing behind.
absl::Status ValidateSpec(const oci::Spec& spec, const std::string& rootfs) {
  if (!spec.process) return absl::InvalidArgumentError("config.json: process is missing");
  const oci::Process& p = *spec.process;
  if (p.args.empty()) return absl::InvalidArgumentError("config.json: process.args is empty");
  if (p.cwd.empty() || p.cwd[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("config.json: process.cwd \"", p.cwd, "\" is not absolute"));
  }
  PEAPOD_RETURN_IF_ERROR(linux::ValidateUser(p.user));
  if (p.capabilities) {
    PEAPOD_RETURN_IF_ERROR(
        linux::ParseCapabilities(*p.capabilities, linux::KernelLastCap()).status());
  }
  for (const oci::Rlimit& r : p.rlimits) {
    PEAPOD_RETURN_IF_ERROR(linux::RlimitNumber(r.type).status());
  }
  if (!spec.linux) return absl::InvalidArgumentError("config.json: linux section is missing");
  PEAPOD_RETURN_IF_ERROR(linux::FormatTimeOffsets(spec.linux->time_offsets).status());
  return linux::CheckRootfs(rootfs);
}

// The effective user's name, read from /etc/passwd as runc does (no NSS, so
// pea can be linked statically), or its number.
std::string OwnerName() {
  std::string uid = std::to_string(::geteuid());
  absl::StatusOr<std::string> passwd = linux::ReadWholeFile("/etc/passwd");
  if (!passwd.ok()) return uid;
  for (absl::string_view line : absl::StrSplit(*passwd, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 3));
    if (f.size() >= 3 && f[2] == uid && !f[0].empty()) return std::string(f[0]);
  }
  return uid;
}

oci::DeviceCgroupRule Allow(const char* type, int64_t major, int64_t minor, const char* access) {
  oci::DeviceCgroupRule r;
  r.allow = true;
  r.type = type;
  if (major >= 0) r.major = major;
  if (minor >= 0) r.minor = minor;
  r.access = access;
  return r;
}

// The device rules the cgroup gets: the spec's, then (as runc) mknod of
// anything, the default devices and the pty devices, then linux.devices.
oci::Resources WithDeviceDefaults(const oci::Spec& spec) {
  oci::Resources res = spec.linux->resources.value_or(oci::Resources{});
  for (auto r : {Allow("c", -1, -1, "m"), Allow("b", -1, -1, "m"), Allow("c", 1, 3, "rwm"),
                 Allow("c", 1, 8, "rwm"), Allow("c", 1, 7, "rwm"), Allow("c", 5, 0, "rwm"),
                 Allow("c", 1, 5, "rwm"), Allow("c", 1, 9, "rwm"), Allow("c", 136, -1, "rwm"),
                 Allow("c", 5, 2, "rwm")}) {
    res.devices.push_back(r);
  }
  for (const oci::Device& d : spec.linux->devices) {
    res.devices.push_back(Allow(d.type == "u" ? "c" : d.type.c_str(), d.major, d.minor, "rwm"));
  }
  return res;
}

// The launcher's half of the handshake once the init (or the intermediate)
// is running.
absl::Status DriveInit(SpawnedInit& spawned, const oci::Spec& spec, const linux::NamespacePlan& ns,
                       cgroups::Manager& cg, const std::string& id, const std::string& bundle,
                       bool self_joined, bool v1_later, bool send_go, Rollback& rb,
                       pid_t* init_pid) {
  linux::SyncChannel& sync = spawned.sync;
  // 1. v1_later: the v1 cgroup dirs are made now, while the intermediate
  //    (if any) clones the init, and their `tasks` fds queued on the
  //    channel for the init (which waits for them and kGo first; the
  //    intermediate never reads). If an error returns before the init's pid
  //    is known, the init sees the channel close and exits.
  if (v1_later) {
    PEAPOD_RETURN_IF_ERROR(cg.CreateV1());
    absl::StatusOr<cgroups::JoinHandles> join = cg.OpenJoinHandles();
    if (join.ok()) {
      for (int fd : join->v1_tasks)
        PEAPOD_RETURN_IF_ERROR(sync.Send(SyncType::kCgroupFd, 0, {}, fd));
    } else {
      self_joined = false;  // moved by pid below (slow, but correct)
    }
  }
  // 2. The init's pid (from the intermediate, which then exits). It is
  //    reaped when this returns: its exit (unmapping a copy of the
  //    launcher) overlaps the init's setup instead of delaying kGo.
  struct ReapAtEnd {
    pid_t pid;
    ~ReapAtEnd() {
      if (pid > 0) WaitChild(pid).IgnoreError();
    }
  } intermediate{spawned.intermediate};
  pid_t pid = spawned.init;
  if (spawned.intermediate > 0) {
    absl::StatusOr<linux::SyncMessage> m = sync.Expect(SyncType::kChildPid);
    if (!m.ok()) return m.status();
    pid = static_cast<pid_t>(m->value);
  }
  *init_pid = pid;
  rb.Push("kill init", [pid] {
    ::kill(pid, SIGKILL);
    return WaitChild(pid).status();
  });
  // 3. Limits (the init joins the cgroups itself unless self_joined is
  //    false), oom score, id maps; then let the init go on if it waits.
  //    When it does not, all this runs while it mounts: it only execs after
  //    Start.
  PEAPOD_RETURN_IF_ERROR(cg.Set(WithDeviceDefaults(spec)));
  if (!self_joined) PEAPOD_RETURN_IF_ERROR(cg.Apply(pid));
  if (spec.process->oom_score_adj) {
    PEAPOD_RETURN_IF_ERROR(linux::WriteOomScoreAdj(pid, *spec.process->oom_score_adj));
  }
  if (ns.new_flags & CLONE_NEWUSER) {
    PEAPOD_RETURN_IF_ERROR(
        linux::WriteIdMaps(pid, spec.linux->uid_mappings, spec.linux->gid_mappings));
  }
  if (send_go) PEAPOD_RETURN_IF_ERROR(sync.Send(SyncType::kGo));
  // 4. prestart and createRuntime hooks, in the runtime's namespaces (the
  //    init only stops for them when there are some).
  if (HasRuntimeHooks(spec)) {
    PEAPOD_RETURN_IF_ERROR(sync.Expect(SyncType::kRuntimeHooks).status());
    std::string state = HookState(id, "creating", pid, bundle, spec.annotations);
    absl::Status hooks = RunHooks(spec.hooks.prestart, state, "prestart hook");
    if (hooks.ok()) hooks = RunHooks(spec.hooks.create_runtime, state, "createRuntime hook");
    if (!hooks.ok()) {
      sync.Send(SyncType::kAbort, 0, hooks.message()).IgnoreError();
      return hooks;
    }
    PEAPOD_RETURN_IF_ERROR(sync.Send(SyncType::kHooksDone));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status Create(const Options& opts, const CreateOptions& c) {
  return CreateInit(opts, c).status();
}

absl::StatusOr<pid_t> CreateInit(const Options& opts, const CreateOptions& c) {
  // 1. Input checks: nothing is created until they pass.
  if (opts.systemd_cgroup) {
    return absl::UnimplementedError("--systemd-cgroup is not supported by pea");
  }
  PEAPOD_RETURN_IF_ERROR(ValidateId(c.id));
  std::string bundle = AbsolutePath(c.bundle);
  absl::StatusOr<oci::Spec> loaded = oci::LoadSpec(bundle + "/config.json");
  if (!loaded.ok()) return loaded.status();  // names the file already
  oci::Spec spec = *std::move(loaded);
  std::string rootfs = spec.root.path.empty() || spec.root.path[0] == '/'
                           ? spec.root.path
                           : bundle + "/" + spec.root.path;
  rootfs = AbsolutePath(rootfs);
  PEAPOD_RETURN_IF_ERROR(ValidateSpec(spec, rootfs));
  // Compiled once, here: the init only loads it.
  PEAPOD_ASSIGN_OR_RETURN(std::optional<seccomp::Filter> filter, CompileSeccomp(opts, spec));
  if (spec.process->terminal && c.console_socket.empty()) {
    return absl::InvalidArgumentError("process.terminal needs --console-socket");
  }
  PEAPOD_ASSIGN_OR_RETURN(linux::NamespacePlan ns, linux::PlanNamespaces(spec.linux->namespaces));
  PEAPOD_ASSIGN_OR_RETURN(auto cg, cgroups::Open(spec.linux->cgroups_path, c.id));
  linux::UniqueFd console;
  if (!c.console_socket.empty()) {
    PEAPOD_ASSIGN_OR_RETURN(console, linux::ConnectUnix(c.console_socket));
  }
  // 2. The state dir (the duplicate-id lock) and the exec fifo.
  Rollback rb;
  PEAPOD_RETURN_IF_ERROR(MakeStateDir(opts, c.id));
  rb.Push("remove state dir", [&] { return RemoveStateDir(opts, c.id); });
  std::string fifo = ExecFifoPath(opts, c.id);
  if (::mkfifo(fifo.c_str(), 0622) != 0) return ErrnoStatus("mkfifo " + fifo);
  // Writable by the container's root whatever it maps to (umask aside); it
  // is only reachable through the init's O_PATH fd, the dir being 0700.
  if (::chmod(fifo.c_str(), 0622) != 0) return ErrnoStatus("chmod " + fifo);
  linux::UniqueFd fifo_fd(::open(fifo.c_str(), O_PATH | O_CLOEXEC));
  if (!fifo_fd) return ErrnoStatus("open " + fifo);
  // 3. The cgroup: its cgroup2 dir now (the init is cloned into it), its v1
  //    dirs (a mkdir per hierarchy, ~1 ms on a hybrid host) in DriveInit,
  //    while the init is being spawned; the init joins them before it does
  //    anything (cgroup_fds_later).
  PEAPOD_RETURN_IF_ERROR(cg->CreateV2());
  rb.Push("remove cgroup", [&] { return cg->Destroy(true); });
  // Handles for the init to enter the cgroup by itself; without them the
  // launcher moves it by pid (slower: see cgroups::JoinHandles).
  absl::StatusOr<int> v2_dir = cg->OpenV2Dir();
  if (!v2_dir.ok()) return v2_dir.status();
  linux::UniqueFd v2_dir_fd(*v2_dir);
  // 4. The intermediate and the init.
  InitParams params;
  params.spec = &spec;
  params.id = c.id;
  params.bundle = bundle;
  params.rootfs = rootfs;
  params.no_pivot = c.no_pivot;
  params.preserve_fds = c.preserve_fds;
  params.stdio[0] = c.stdin_fd;
  params.stdio[1] = c.stdout_fd;
  params.stdio[2] = c.stderr_fd;
  params.console_fd = console.get();
  params.exec_fifo_fd = fifo_fd.get();
  params.namespaces = &ns;
  params.seccomp = filter ? &*filter : nullptr;
  params.cgroup_dir_fd = v2_dir_fd.get();
  params.cgroup_fds_later = true;
  params.wait_for_go = true;
  PEAPOD_ASSIGN_OR_RETURN(SpawnedInit spawned, SpawnInit(params));
  v2_dir_fd.Reset();
  pid_t init_pid = 0;
  PEAPOD_RETURN_IF_ERROR(DriveInit(spawned, spec, ns, *cg, c.id, bundle, true, true,
                                   spawned.wait_for_go, rb, &init_pid));
  // 5. The record later calls work from, written while the init sets up
  //    (a failure from here on removes it with the state dir).
  StateRecord rec;
  rec.id = c.id;
  rec.init_pid = init_pid;
  PEAPOD_ASSIGN_OR_RETURN(linux::ProcStat ps, linux::ReadProcStat(init_pid));
  rec.init_start_time = ps.start_time;
  rec.bundle = bundle;
  rec.rootfs = rootfs;
  rec.created = NowRfc3339Nano();
  rec.cgroup_path = cg->Path();
  rec.owner = OwnerName();
  rec.annotations = spec.annotations;
  rec.poststart_hooks = !spec.hooks.poststart.empty();
  PEAPOD_RETURN_IF_ERROR(SaveConfig(opts, c.id, spec));
  PEAPOD_RETURN_IF_ERROR(SaveState(opts, rec));
  // 6. The init is set up and blocks on the exec fifo.
  PEAPOD_RETURN_IF_ERROR(spawned.sync.Expect(SyncType::kReady).status());
  if (!c.pid_file.empty()) {
    PEAPOD_RETURN_IF_ERROR(
        linux::ReplaceFile(AbsolutePath(c.pid_file), std::to_string(init_pid), 0644));
  }
  rb.Dismiss();
  return init_pid;
}

}  // namespace peapod::runtime
