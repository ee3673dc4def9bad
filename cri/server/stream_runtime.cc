// What the streaming server (cri/stream) runs for a connection: an exec in a
// container through the pod's shim, with fifos between the shim and the
// client's streams, or a TCP connection to a port inside the pod's network
// namespace. A client that goes away takes its exec with it (SIGKILL), as
// with containerd.
#include "cri/server/stream_runtime.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "cri/images/fs_util.h"
#include "cri/server/container_ops.h"
#include "cri/server/pod_network.h"
#include "cri/store/id.h"
#include "cri/util/sockaddr.h"
#include "cri/util/str.h"
#include "oci/spec/json.h"

namespace peapod::cri {
namespace {

using images::UniqueFd;
using namespace std::chrono_literals;

// Writes all of data to a non-blocking fd, waiting while it is full; false
// once the reader is gone or `stop` is set.
bool WriteAll(int fd, std::string_view data, const std::atomic<bool>& stop) {
  while (!data.empty() && !stop) {
    ssize_t n = write(fd, data.data(), data.size());
    if (n > 0) {
      data.remove_prefix(static_cast<size_t>(n));
    } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
      pollfd p{fd, POLLOUT, 0};
      poll(&p, 1, 200);
    } else {
      return false;
    }
  }
  return data.empty();
}

// A fifo in dir, opened by peapodd before the shim opens its end: the read
// end of an output (non-blocking, polled), or stdin read-write (so it has a
// writer from the start; closing it is the process's EOF).
absl::StatusOr<UniqueFd> MakeFifo(const std::string& path, bool is_stdin) {
  if (mkfifo(path.c_str(), 0600) != 0) return images::ErrnoStatus("mkfifo " + path, errno);
  UniqueFd fd(open(path.c_str(), (is_stdin ? O_RDWR : O_RDONLY) | O_NONBLOCK | O_CLOEXEC));
  if (!fd.valid()) return images::ErrnoStatus("open " + path, errno);
  return fd;
}

// A socket connected to localhost:port in the network namespace at `netns`
// ("" = peapodd's own). The namespace is entered on a thread of its own,
// which ends right after: a socket stays in the namespace it was made in.
absl::StatusOr<UniqueFd> ConnectInNetns(const std::string& netns, int port) {
  absl::StatusOr<UniqueFd> out = absl::InternalError("not run");
  std::thread([&] {
    if (!netns.empty()) {
      UniqueFd ns(open(netns.c_str(), O_RDONLY | O_CLOEXEC));
      if (!ns.valid()) {
        out = images::ErrnoStatus("open " + netns, errno);
        return;
      }
      if (setns(ns.get(), CLONE_NEWNET) != 0) {
        out = images::ErrnoStatus("enter " + netns, errno);
        return;
      }
    }
    int err = 0;
    // "localhost" as the pod sees it: IPv4 first, then IPv6.
    for (const char* loopback : {"127.0.0.1", "::1"}) {
      sockaddr_storage ss;
      socklen_t len = 0;
      if (!IpSockaddr(loopback, static_cast<uint16_t>(port), &ss, &len)) continue;
      UniqueFd s(socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (!s.valid()) {
        err = errno;
        continue;
      }
      if (connect(s.get(), reinterpret_cast<sockaddr*>(&ss), len) == 0) {
        out = std::move(s);
        return;
      }
      err = errno;
    }
    out = images::ErrnoStatus(Cat("connect to localhost:", port, " in the pod"), err);
  }).join();
  return out;
}

// The client's stdin into `in` (closed at its end, then on_end) and its
// terminal sizes to on_resize, each on a thread of its own, until the
// object goes.
class InputPumps {
 public:
  InputPumps(const stream::ExecStreams& s, UniqueFd& in, std::function<void()> on_end,
             std::function<void(uint32_t, uint32_t)> on_resize)
      : s_(s) {
    if (s.stdin != nullptr && in.valid()) {
      stdin_ = std::thread([this, &in, on_end] {
        for (std::string data; !(data = s_.stdin->Read()).empty();) {
          if (!WriteAll(in.get(), data, stop_)) break;
        }
        in.Reset();  // the process's EOF, unless another writer is open
        if (!stop_ && on_end) on_end();
      });
    }
    if (s.resize != nullptr) {
      resize_ = std::thread([this, on_resize] {
        stream::ResizeReader sizes;
        for (std::string data; !(data = s_.resize->Read()).empty();) sizes.Feed(data, on_resize);
      });
    }
  }
  ~InputPumps() {
    stop_ = true;
    if (s_.stdin != nullptr) s_.stdin->StopReads();
    if (s_.resize != nullptr) s_.resize->StopReads();
    if (stdin_.joinable()) stdin_.join();
    if (resize_.joinable()) resize_.join();
  }
  InputPumps(const InputPumps&) = delete;
  InputPumps& operator=(const InputPumps&) = delete;

 private:
  const stream::ExecStreams& s_;
  std::atomic<bool> stop_ = false;
  std::thread stdin_, resize_;
};

// The output fifos to the client's stdout and stderr streams (each finished
// at its fifo's EOF) until both fifos end: false if the client went away
// first.
bool PumpOutput(UniqueFd& out, UniqueFd& err, const stream::ExecStreams& s) {
  struct Out {
    UniqueFd* fd;
    stream::SpdyStream* to;
  } outs[2] = {{&out, s.stdout.get()}, {&err, s.stderr.get()}};
  char buf[32 << 10];
  while (out.valid() || err.valid()) {
    pollfd fds[2];
    for (int i = 0; i < 2; ++i) fds[i] = {outs[i].fd->valid() ? outs[i].fd->get() : -1, POLLIN, 0};
    int n = poll(fds, 2, 500);
    if (n < 0 && errno != EINTR) return false;
    if (s.gone && s.gone()) return false;
    for (int i = 0; i < 2 && n > 0; ++i) {
      if (fds[i].revents == 0) continue;
      ssize_t got = read(outs[i].fd->get(), buf, sizeof buf);
      if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (got <= 0) {
        outs[i].fd->Reset();
        (void)outs[i].to->CloseWrite();
        continue;
      }
      if (!outs[i].to->Write(std::string_view(buf, static_cast<size_t>(got))).ok()) return false;
    }
  }
  return true;
}

}  // namespace

absl::StatusOr<int> RunStreamExec(Daemon& d, const stream::ExecRequest& r,
                                  const stream::ExecStreams& s) {
  absl::StatusOr<ContainerRecord> c = RunningContainer(d, r.container_id);
  if (!c.ok()) return c.status();
  absl::StatusOr<oci::Process> process = ContainerExecProcess(d, *c, r.cmd, r.tty);
  if (!process.ok()) return process.status();
  // 1. The fifos, in a dir of the bundle removed at the end.
  std::string exec_id = NewId().substr(0, 16);
  std::string dir = Cat(ContainerBundleDir(d, c->id), "/exec-", exec_id);
  if (absl::Status st = images::MakeDirs(dir, 0700); !st.ok()) return st;
  absl::Cleanup remove_dir = [&] { (void)images::RemoveAll(dir); };
  task::ExecProcessRequest exec;
  exec.set_id(c->id);
  exec.set_exec_id(exec_id);
  exec.set_terminal(r.tty);
  UniqueFd in, out, err;
  struct Io {
    stream::SpdyStream* stream;
    UniqueFd* fd;
    const char* name;
  };
  for (const Io& io : {Io{s.stdin.get(), &in, "stdin"}, Io{s.stdout.get(), &out, "stdout"},
                       Io{s.stderr.get(), &err, "stderr"}}) {
    if (io.stream == nullptr) continue;
    std::string path = Cat(dir, "/", io.name);
    absl::StatusOr<UniqueFd> f = MakeFifo(path, io.fd == &in);
    if (!f.ok()) return f.status();
    *io.fd = std::move(*f);
    if (io.fd == &in) exec.set_stdin(path);
    if (io.fd == &out) exec.set_stdout(path);
    if (io.fd == &err) exec.set_stderr(path);
  }
  // 2. Exec and start it in the shim.
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  if (!shim.ok()) return shim.status();
  ShimClient& sc = **shim;
  exec.mutable_spec()->set_type_url("types.containerd.io/opencontainers/runtime-spec/1/Process");
  exec.mutable_spec()->set_value(oci::SerializeProcess(*process));
  if (absl::Status st = sc.Exec(exec); !st.ok()) return st;
  absl::Cleanup forget = [&] { (void)sc.Delete(c->id, exec_id); };
  if (absl::StatusOr<uint32_t> pid = sc.Start(c->id, exec_id); !pid.ok()) return pid.status();
  // 3. The client's stdin and terminal sizes, and the output.
  InputPumps pumps(s, in, nullptr,
                   [&](uint32_t w, uint32_t h) { (void)sc.ResizePty(c->id, exec_id, w, h); });
  bool gone = !PumpOutput(out, err, s);
  absl::StatusOr<ExitInfo> exit = absl::DeadlineExceededError("");
  while (!gone && absl::IsDeadlineExceeded(exit.status())) {
    exit = sc.Wait(c->id, exec_id, 500ms);
    gone = s.gone && s.gone();
  }
  if (gone) {
    d.log.Info(Cat("exec in ", c->id, ": the client went away, killing the process"));
    (void)sc.Kill(c->id, SIGKILL, false, exec_id);
    exit = sc.Wait(c->id, exec_id, 10s);
  }
  if (!exit.ok()) return exit.status();
  return static_cast<int>(exit->exit_status);
}

absl::StatusOr<int> RunStreamAttach(Daemon& d, const stream::ExecRequest& r,
                                    const stream::ExecStreams& s) {
  absl::StatusOr<ContainerRecord> c = RunningContainer(d, r.container_id);
  if (!c.ok()) return c.status();
  if (s.stdin != nullptr && !c->stdin) {
    return absl::FailedPreconditionError(Cat("container ", c->id, " was not created with stdin"));
  }
  // 1. Fifos for the output copy the shim makes, read ends open first.
  std::string dir = Cat(ContainerBundleDir(d, c->id), "/attach-", NewId().substr(0, 16));
  if (absl::Status st = images::MakeDirs(dir, 0700); !st.ok()) return st;
  absl::Cleanup remove_dir = [&] { (void)images::RemoveAll(dir); };
  UniqueFd out, err, in;
  std::string out_path, err_path;
  for (auto [stream, fd, path, name] : {std::tuple{s.stdout.get(), &out, &out_path, "stdout"},
                                        std::tuple{s.stderr.get(), &err, &err_path, "stderr"}}) {
    // A terminal's output is all stdout.
    if (stream == nullptr || (c->tty && fd == &err)) continue;
    *path = Cat(dir, "/", name);
    absl::StatusOr<UniqueFd> f = MakeFifo(*path, false);
    if (!f.ok()) return f.status();
    *fd = std::move(*f);
    // Room for bursts: the shim drops a client whose fifo is full.
    (void)fcntl(fd->get(), F_SETPIPE_SZ, 1 << 20);
  }
  if (s.stdin != nullptr) {
    // Read-write, as the exec's stdin: a write after the container's reader
    // is gone then waits instead of raising SIGPIPE in peapodd.
    std::string path = ContainerStdinPath(d, c->id);
    in.Reset(open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!in.valid()) return images::ErrnoStatus("open " + path, errno);
  }
  absl::StatusOr<std::unique_ptr<ShimClient>> shim = ConnectPodShim(d, c->pod_id);
  if (!shim.ok()) return shim.status();
  ShimClient& sc = **shim;
  if (absl::Status st = sc.AttachOutput(c->id, out_path, err_path); !st.ok()) return st;
  // 2. Input, then output until the container's output ends or the client
  // leaves; the container runs on either way. With stdin_once the first
  // client's end of input is the container's.
  bool once = c->stdin_once;
  InputPumps pumps(
      s, in, [&] { (void)(once ? sc.CloseIO(c->id, "", true) : absl::OkStatus()); },
      [&](uint32_t w, uint32_t h) { (void)sc.ResizePty(c->id, "", w, h); });
  if (!PumpOutput(out, err, s)) d.log.Debug(Cat("attach to ", c->id, ": the client went away"));
  return 0;
}

absl::Status RunPortForward(Daemon& d, const std::string& pod_id, int port,
                            stream::SpdyStream& data) {
  absl::StatusOr<PodRecord> pod = d.pods->Get(pod_id);
  if (!pod.ok()) return pod.status();
  if (pod->state != PodState::kReady) {
    return absl::FailedPreconditionError(Cat("pod sandbox ", pod_id, " is not ready"));
  }
  std::string netns;
  if (pod->network_mode != NamespaceMode::kNode) {
    netns = pod->netns_path.empty() ? PodNetnsPath(d, pod_id) : pod->netns_path;
  }
  absl::StatusOr<UniqueFd> sock = ConnectInNetns(netns, port);
  if (!sock.ok()) return sock.status();
  int fd = sock->get();
  std::thread up([&] {
    for (std::string chunk; !(chunk = data.Read()).empty();) {
      std::string_view rest = chunk;
      while (!rest.empty()) {
        ssize_t n = send(fd, rest.data(), rest.size(), MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return;
        rest.remove_prefix(static_cast<size_t>(n));
      }
    }
    shutdown(fd, SHUT_WR);  // the client is done sending
  });
  char buf[32 << 10];
  while (!data.closed()) {
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, 500);
    if (n <= 0) continue;
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) break;
    if (!data.Write(std::string_view(buf, static_cast<size_t>(got))).ok()) break;
  }
  shutdown(fd, SHUT_RDWR);  // a send of the other thread ends
  data.StopReads();
  up.join();
  return absl::OkStatus();
}

}  // namespace peapod::cri
