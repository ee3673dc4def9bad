// containerd-shim-peapod-v2: containerd's runtime v2 shim for peapod.
//   start   find or start the shim of this task's group; print its address
//   delete  clean up after a task whose shim is gone; print a DeleteResponse
// The daemon `start` forks is the shim proper: it serves the Task API on a
// unix socket and is the subreaper of its containers.
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "oci/cgroups/manager.h"
#include "oci/linux/capabilities.h"
#include "oci/runtime/state_store.h"
#include "shim/cli.h"
#include "shim/events.h"
#include "shim/reaper.h"
#include "shim/rootfs.h"
#include "shim/runtime_choice.h"
#include "shim/runtime_set.h"
#include "shim/service.h"
#include "shim/ttrpc/server.h"

namespace peapod::shim {
namespace {

std::string EnvOr(const char* name, const char* fallback) {
  const char* v = getenv(name);
  return v != nullptr && *v != '\0' ? v : fallback;
}

std::string SocketDir() { return EnvOr("PEAPOD_SHIM_SOCKET_DIR", "/run/peapod/s"); }

std::string RuntimeRoot(const Flags& f) {
  return absl::StrCat(EnvOr("PEAPOD_SHIM_RUNTIME_ROOT", "/run/peapod/runc"), "/", f.ns);
}

// "" (the default): the launcher library in-process; else a runc-compatible
// binary run once per step.
std::string RuntimeBinary() { return EnvOr("PEAPOD_SHIM_RUNTIME", ""); }

int Fail(const absl::Status& s) {
  fprintf(stderr, "containerd-shim-peapod-v2: %s\n", s.ToString().c_str());
  return 1;
}

// Writes `<bundle>/address` atomically: containerd reads it to reconnect.
absl::Status WriteAddress(const std::string& bundle, const std::string& address) {
  std::string tmp = bundle + "/.address.tmp";
  {
    std::ofstream f(tmp, std::ios::trunc);
    f << address;
    if (!f.good()) return absl::InternalError("write " + tmp);
  }
  if (rename(tmp.c_str(), (bundle + "/address").c_str()) != 0) {
    return absl::InternalError(absl::StrCat("rename address: ", strerror(errno)));
  }
  return absl::OkStatus();
}

// The socket in `bundle`/address, if that names one in the shims' socket
// dir (nothing else is ever unlinked on its word).
std::optional<std::string> AddressFileSocket(const std::string& bundle) {
  std::ifstream in(bundle + "/address");
  std::string address;
  if (!std::getline(in, address) || !address.starts_with("unix://")) return std::nullopt;
  std::string path = address.substr(7);
  std::string dir = SocketDir() + "/";
  struct stat st;
  if (!path.starts_with(dir) || path.find("/", dir.size()) != std::string::npos ||
      path.find("..") != std::string::npos || lstat(path.c_str(), &st) != 0 ||
      !S_ISSOCK(st.st_mode)) {
    return std::nullopt;
  }
  return path;
}

// Binds and listens on path; AlreadyExists if a socket is there.
absl::StatusOr<linux::UniqueFd> ListenAt(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return absl::InvalidArgumentError("path too long");
  memcpy(addr.sun_path, path.data(), path.size());
  linux::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (errno == EADDRINUSE) return absl::AlreadyExistsError(path);
    return absl::InternalError(absl::StrCat("bind ", path, ": ", strerror(errno)));
  }
  if (listen(fd.get(), 64) != 0)
    return absl::InternalError(absl::StrCat("listen: ", strerror(errno)));
  return fd;
}

bool CanConnect(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, path.data(), std::min(path.size(), sizeof(addr.sun_path) - 1));
  linux::UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  return connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
}

// Points fd 0/1 at /dev/null and fd 2 at the bundle's "log" fifo (containerd
// copies it into its own log) or /dev/null.
void RedirectStdio(const std::string& bundle) {
  int null = open("/dev/null", O_RDWR);
  int log = open((bundle + "/log").c_str(), O_WRONLY | O_NONBLOCK);
  dup2(null, 0);
  dup2(null, 1);
  dup2(log >= 0 ? log : null, 2);
  if (null > 2) close(null);
  if (log > 2) close(log);
}

// The daemon keeps only stdio and its listening socket: whatever its caller
// leaked to `start` (a test runner's log, a pipe) would otherwise stay open
// for the pod's whole life.
void CloseInheritedFds(int keep) {
  if (keep > 3) close_range(3, keep - 1, 0);
  close_range(keep < 3 ? 3 : keep + 1, ~0U, 0);
}

// Memory per pod is the shim's private dirty pages: one malloc arena for
// all threads (glibc gives each thread its own, each keeping freed pages),
// freed memory returned early, and a fixed mmap threshold.
void TuneMalloc() {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_TRIM_THRESHOLD, 64 << 10);
  mallopt(M_MMAP_THRESHOLD, 64 << 10);
}

// The shim proper: serves until Shutdown finds no container left.
[[noreturn]] void Serve(const Flags& f, linux::UniqueFd listener, const std::string& socket_path) {
  signal(SIGPIPE, SIG_IGN);
  TuneMalloc();
  // One shim, many creates: what they all read from the host, read once
  // now (a spare shim is idle now, and its pod's create is not).
  cgroups::CacheHostLayout();
  (void)linux::KernelLastCap();
  absl::StatusOr<std::unique_ptr<Reaper>> reaper = Reaper::Start();
  if (!reaper.ok()) {
    Fail(reaper.status());
    _exit(1);
  }
  std::filesystem::create_directories(RuntimeRoot(f));
  RuntimeSet runtimes(reaper->get(), RuntimeRoot(f), RuntimeBinary());
  Publisher publisher(EnvOr("TTRPC_ADDRESS", ""), f.ns);
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  TaskService service(reaper->get(), &runtimes, &publisher, [&] {
    std::lock_guard lock(mu);
    done = true;
    cv.notify_all();
  });
  ttrpc::Server server;
  service.Register(&server);
  if (absl::Status s = server.Serve(std::move(listener)); !s.ok()) {
    Fail(s);
    _exit(1);
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return done; });
  unlink(socket_path.c_str());
  // Let the Shutdown response and queued events go out, then leave without
  // running destructors under threads still blocked in Wait.
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
  _exit(0);
}

int CmdStart(const Flags& f) {
  std::string bundle = f.bundle.empty() ? std::filesystem::current_path().string() : f.bundle;
  std::string dir = SocketDir();
  std::filesystem::create_directories(dir);
  chmod(dir.c_str(), 0700);
  std::string path = GroupSocketPath(dir, f.address, f.ns, GroupOf(bundle, f.id));
  std::string address = "unix://" + path;
  absl::StatusOr<linux::UniqueFd> listener = ListenAt(path);
  if (absl::IsAlreadyExists(listener.status())) {
    if (CanConnect(path)) {  // the group's shim is running: share it
      if (absl::Status s = WriteAddress(bundle, address); !s.ok()) return Fail(s);
      printf("%s", address.c_str());
      return 0;
    }
    unlink(path.c_str());  // a dead shim's socket
    listener = ListenAt(path);
  }
  if (!listener.ok()) return Fail(listener.status());
  pid_t pid = fork();
  if (pid < 0) return Fail(absl::InternalError(absl::StrCat("fork: ", strerror(errno))));
  if (pid == 0) {
    setsid();
    RedirectStdio(bundle);
    CloseInheritedFds(listener->get());
    if (chdir("/") != 0) _exit(1);
    Serve(f, std::move(*listener), path);
  }
  if (absl::Status s = WriteAddress(bundle, address); !s.ok()) return Fail(s);
  printf("%s", address.c_str());
  return 0;
}

int CmdDelete(const Flags& f) {
  std::string bundle = f.bundle.empty() ? std::filesystem::current_path().string() : f.bundle;
  absl::StatusOr<std::unique_ptr<Reaper>> reaper = Reaper::Start();
  if (!reaper.ok()) return Fail(reaper.status());
  RuntimeSet runtimes(reaper->get(), RuntimeRoot(f), RuntimeBinary());
  Runtime* runtime = runtimes.Get(ReadRuntimeChoice(bundle, ""));
  if (absl::Status s = runtime->Delete(f.id, true); !s.ok() && !absl::IsNotFound(s)) {
    fprintf(stderr, "delete %s: %s\n", f.id.c_str(), s.ToString().c_str());  // a warning
  }
  if (absl::Status s = UnmountRootfs(bundle + "/rootfs"); !s.ok()) return Fail(s);
  // The dead shim could not remove its socket; a live one of the group
  // still answers on it and keeps it.
  std::string socket = GroupSocketPath(SocketDir(), f.address, f.ns, GroupOf(bundle, f.id));
  if (!CanConnect(socket)) unlink(socket.c_str());
  // A shim started under another id (peapodd's spare shims) named its
  // socket after that id; the bundle's address file says which it is.
  if (std::optional<std::string> named = AddressFileSocket(bundle);
      named && *named != socket && !CanConnect(*named)) {
    unlink(named->c_str());
  }
  containerd::task::v2::DeleteResponse resp;
  resp.set_exit_status(128 + SIGKILL);
  SetTimestamp(Now(), resp.mutable_exited_at());
  std::string out = resp.SerializeAsString();
  fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

}  // namespace
}  // namespace peapod::shim

int main(int argc, char** argv) {
  using namespace peapod::shim;
  absl::StatusOr<Flags> f = ParseFlags(std::vector<std::string>(argv + 1, argv + argc));
  if (!f.ok()) return Fail(f.status());
  if (f->version) {
    printf("containerd-shim-peapod-v2 (peapod) ttrpc task v2\n");
    return 0;
  }
  if (f->ns.empty() || f->id.empty()) {
    return Fail(absl::InvalidArgumentError("-namespace and -id are required"));
  }
  // Both name files: the namespace a runtime state dir, the id a container.
  if (absl::Status s = peapod::runtime::ValidateId(f->ns, "-namespace"); !s.ok()) return Fail(s);
  if (absl::Status s = peapod::runtime::ValidateId(f->id, "-id"); !s.ok()) return Fail(s);
  if (f->action == "start") return CmdStart(*f);
  if (f->action == "delete") return CmdDelete(*f);
  return Fail(
      absl::InvalidArgumentError("action must be start or delete, got '" + f->action + "'"));
}
