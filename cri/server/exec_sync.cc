// ExecSync: runs a command in a running container and returns its output.
// peapodd makes two fifos in the bundle, the shim's exec writes into them,
// and peapodd reads both until EOF, the timeout, or (past 16 MiB a stream)
// discarding the rest so the command never blocks on a full pipe.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "absl/cleanup/cleanup.h"
#include "cri/images/fs_util.h"
#include "cri/server/container_ops.h"
#include "cri/server/handlers.h"
#include "cri/store/id.h"
#include "cri/util/str.h"
#include "oci/spec/spec.h"

namespace peapod::cri {
namespace {

using Clock = std::chrono::steady_clock;

// CRI leaves the cap to the runtime; containerd and CRI-O use 16 MiB.
constexpr size_t kMaxOutput = 16 << 20;

struct Stream {
  images::UniqueFd fd;
  std::string* out;
  bool truncated = false;
};

// Reads both fifos until both reach EOF or `deadline` passes (false).
bool Drain(Stream (&streams)[2], Clock::time_point deadline, bool has_deadline) {
  char buf[65536];
  while (streams[0].fd.valid() || streams[1].fd.valid()) {
    pollfd fds[2];
    for (int i = 0; i < 2; ++i)
      fds[i] = {streams[i].fd.valid() ? streams[i].fd.get() : -1, POLLIN, 0};
    int wait_ms = -1;
    if (has_deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) return false;
      wait_ms = static_cast<int>(left.count());
    }
    int n = poll(fds, 2, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return false;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t got = read(streams[i].fd.get(), buf, sizeof buf);
      if (got < 0 && (errno == EINTR || errno == EAGAIN)) continue;
      if (got <= 0) {
        streams[i].fd.Reset();
        continue;
      }
      std::string& out = *streams[i].out;
      size_t room = kMaxOutput - out.size();
      if (static_cast<size_t>(got) > room) streams[i].truncated = true;
      out.append(buf, std::min(room, static_cast<size_t>(got)));
    }
  }
  return true;
}

}  // namespace

absl::Status HandleExecSync(Daemon& d, const ::runtime::v1::ExecSyncRequest& req,
                            ::runtime::v1::ExecSyncResponse& resp) {
  if (req.cmd().empty()) return absl::InvalidArgumentError("cmd must not be empty");
  if (req.timeout() < 0) return absl::InvalidArgumentError("timeout must not be negative");
  absl::StatusOr<ContainerRecord> c = RunningContainer(d, req.container_id());
  if (!c.ok()) return c.status();
  // 1. The process: the container's own (user, env, caps, cwd) with cmd.
  std::string bundle = ContainerBundleDir(d, c->id);
  absl::StatusOr<oci::Process> process =
      ContainerExecProcess(d, *c, {req.cmd().begin(), req.cmd().end()}, false);
  if (!process.ok()) return process.status();
  // 2. The fifos, opened for reading before the shim opens them to write.
  std::string exec_id = NewId().substr(0, 16);
  std::string dir = Cat(bundle, "/exec-", exec_id);
  if (absl::Status s = images::MakeDirs(dir, 0700); !s.ok()) return s;
  absl::Cleanup remove_dir = [&] { (void)images::RemoveAll(dir); };
  std::string out_path = dir + "/stdout", err_path = dir + "/stderr";
  Stream streams[2] = {{{}, resp.mutable_stdout()}, {{}, resp.mutable_stderr()}};
  for (int i = 0; i < 2; ++i) {
    const std::string& p = i == 0 ? out_path : err_path;
    if (mkfifo(p.c_str(), 0600) != 0) return images::ErrnoStatus("mkfifo " + p, errno);
    streams[i].fd.Reset(open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!streams[i].fd.valid()) return images::ErrnoStatus("open " + p, errno);
  }
  // 3. Exec and start it in the shim.
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  if (!shim.ok()) return shim.status();
  ShimClient& sc = **shim;
  task::ExecProcessRequest exec;
  exec.set_id(c->id);
  exec.set_exec_id(exec_id);
  exec.set_stdout(out_path);
  exec.set_stderr(err_path);
  exec.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  exec.mutable_spec()->set_value(oci::SerializeProcess(*process));
  if (absl::Status s = sc.Exec(exec); !s.ok()) return s;
  absl::Cleanup forget = [&] { (void)sc.Delete(c->id, exec_id); };
  if (absl::StatusOr<uint32_t> pid = sc.Start(c->id, exec_id); !pid.ok()) return pid.status();
  // 4. Output until EOF or the timeout; a timed-out command is killed.
  auto deadline = Clock::now() + std::chrono::seconds(req.timeout());
  bool finished = Drain(streams, deadline, req.timeout() > 0);
  if (!finished) {
    (void)sc.Kill(c->id, SIGKILL, false, exec_id);
    (void)sc.Wait(c->id, exec_id, std::chrono::seconds(10));
    return absl::DeadlineExceededError(
        Cat("command in container ", c->id, " timed out after ", req.timeout(), "s"));
  }
  absl::StatusOr<ExitInfo> exit = sc.Wait(c->id, exec_id, std::chrono::seconds(30));
  if (!exit.ok()) return exit.status();
  resp.set_exit_code(static_cast<int32_t>(exit->exit_status));
  for (const Stream& s : streams) {
    if (s.truncated) {
      d.log.Info(Cat("exec in ", c->id, ": output beyond ", kMaxOutput, " bytes dropped"));
    }
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
