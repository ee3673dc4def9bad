#include "shim/lib_runtime.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "oci/linux/unique_fd.h"
#include "shim/stats.h"

namespace peapod::shim {
namespace {

// Reads and removes a pid file the launcher wrote.
absl::StatusOr<pid_t> TakePidFile(const std::string& path) {
  linux::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  char buf[32] = {};
  ssize_t n = fd ? read(fd.get(), buf, sizeof(buf) - 1) : -1;
  unlink(path.c_str());
  pid_t pid = n > 0 ? static_cast<pid_t>(atoi(buf)) : 0;
  if (pid <= 0) return absl::InternalError(absl::StrCat("no pid in ", path));
  return pid;
}

// Stdio fds for the launcher: -1 ("inherit") would hand the container the
// shim's own stdio (its stderr is containerd's log), so /dev/null instead.
struct StdioFds {
  linux::UniqueFd null;
  int fds[3];
  explicit StdioFds(const Stdio& io) : fds{io.stdin_fd(), io.stdout_fd(), io.stderr_fd()} {
    for (int& fd : fds) {
      if (fd >= 0) continue;
      if (!null) null.Reset(open("/dev/null", O_RDWR | O_CLOEXEC));
      fd = null.get();
    }
  }
};

}  // namespace

LibRuntime::LibRuntime(Reaper* reaper, std::string root) : reaper_(reaper) {
  // Compiled seccomp programs, shared by every namespace's containers (a
  // namespace name never starts with a dot): compiling the runtime/default
  // profile costs 15-20 ms a container otherwise.
  opts_.seccomp_cache_dir = (std::filesystem::path(root).parent_path() / ".seccomp-cache").string();
  opts_.root = std::move(root);
}

absl::StatusOr<pid_t> LibRuntime::Create(const std::string& id, const std::string& bundle,
                                         const Stdio& io) {
  StdioFds fds(io);
  runtime::CreateOptions c;
  c.id = id;
  c.bundle = bundle;
  c.console_socket = io.console_socket();
  c.stdin_fd = fds.fds[0];
  c.stdout_fd = fds.fds[1];
  c.stderr_fd = fds.fds[2];
  auto hold = reaper_->HoldReaping();
  return runtime::CreateInit(opts_, c);
}

absl::Status LibRuntime::Start(const std::string& id) {
  auto hold = reaper_->HoldReaping();  // poststart hooks are children
  return runtime::Start(opts_, id);
}

absl::StatusOr<pid_t> LibRuntime::Exec(const std::string& id, const std::string& bundle,
                                       const std::string& exec_id, const std::string& process_json,
                                       const Stdio& io) {
  absl::StatusOr<oci::Process> process = oci::ParseProcess(process_json);
  if (!process.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("exec ", exec_id, ": bad process spec: ", process.status().message()));
  }
  StdioFds fds(io);
  runtime::ExecOptions e;
  e.process = *std::move(process);
  e.detach = true;
  e.pid_file = absl::StrCat(bundle, "/.exec-", exec_id, ".pid");
  e.console_socket = io.console_socket();
  e.stdin_fd = fds.fds[0];
  e.stdout_fd = fds.fds[1];
  e.stderr_fd = fds.fds[2];
  {
    auto hold = reaper_->HoldReaping();
    absl::StatusOr<int> r = runtime::Exec(opts_, id, e);
    if (!r.ok()) {
      unlink(e.pid_file.c_str());
      return r.status();
    }
  }
  return TakePidFile(e.pid_file);
}

absl::Status LibRuntime::Kill(const std::string& id, int signal, bool all) {
  return runtime::Kill(opts_, id, signal, all);
}

absl::Status LibRuntime::Delete(const std::string& id, bool force) {
  auto hold = reaper_->HoldReaping();  // poststop hooks; a forced kill reaps the init
  return runtime::Delete(opts_, id, force);
}

absl::Status LibRuntime::Pause(const std::string& id) { return runtime::Pause(opts_, id); }

absl::Status LibRuntime::Resume(const std::string& id) { return runtime::Resume(opts_, id); }

absl::Status LibRuntime::Update(const std::string& id, const std::string&,
                                const std::string& resources_json) {
  absl::StatusOr<oci::Resources> res = oci::ParseResources(resources_json);
  if (!res.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("update ", id, ": bad resources: ", res.status().message()));
  }
  return runtime::Update(opts_, id, *res);
}

absl::StatusOr<std::vector<pid_t>> LibRuntime::Pids(const std::string& id) {
  return runtime::Pids(opts_, id);
}

absl::StatusOr<std::string> LibRuntime::Metrics(const std::string& id) {
  absl::StatusOr<runtime::Stats> st = runtime::GetStats(opts_, id);
  if (!st.ok()) return st.status();
  return MetricsFromStats(*st);
}

}  // namespace peapod::shim
