#include "oci/cgroups/manager.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "oci/cgroups/path.h"
#include "oci/cgroups/v1_manager.h"
#include "oci/cgroups/v2_manager.h"

namespace peapod::cgroups {

absl::Status Manager::Signal(int signal) {
  auto pids = Pids();
  if (!pids.ok()) return pids.status();
  for (pid_t pid : *pids) {
    if (kill(pid, signal) != 0 && errno != ESRCH) {
      return absl::ErrnoToStatus(errno, absl::StrCat("kill ", pid, " with signal ", signal));
    }
  }
  return absl::OkStatus();
}

absl::Status Manager::KillAll() {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  for (;;) {
    if (!Exists()) return absl::OkStatus();
    auto pids = Pids();
    if (!pids.ok()) return pids.status();
    if (pids->empty()) return absl::OkStatus();
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError(
          absl::StrCat("cgroup ", Path(), ": ", pids->size(), " processes survive SIGKILL"));
    }
    for (pid_t pid : *pids) kill(pid, SIGKILL);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

JoinHandles::JoinHandles(JoinHandles&& other) noexcept
    : v1_tasks(std::move(other.v1_tasks)), v2_dir(other.v2_dir) {
  other.v1_tasks.clear();
  other.v2_dir = -1;
}

JoinHandles& JoinHandles::operator=(JoinHandles&& other) noexcept {
  if (this != &other) {
    Close();
    v1_tasks = std::move(other.v1_tasks);
    v2_dir = other.v2_dir;
    other.v1_tasks.clear();
    other.v2_dir = -1;
  }
  return *this;
}

void JoinHandles::Close() {
  for (int fd : v1_tasks) close(fd);
  v1_tasks.clear();
  if (v2_dir >= 0) close(v2_dir);
  v2_dir = -1;
}

absl::Status JoinSelf(const std::vector<int>& v1_tasks) {
  for (int fd : v1_tasks) {
    if (write(fd, "0", 1) != 1) {
      return absl::ErrnoToStatus(errno, "join cgroup: write 0 to a v1 tasks file");
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<JoinHandles> Manager::OpenJoinHandles() const {
  return absl::UnimplementedError("this cgroup manager has no join handles");
}

std::unique_ptr<Manager> NewV1Manager(const Host& host, const std::string& path) {
  return std::make_unique<V1Manager>(host, path);
}

std::unique_ptr<Manager> NewV2Manager(const std::string& mountpoint, const std::string& path) {
  return std::make_unique<V2Manager>(mountpoint, path);
}

absl::StatusOr<std::unique_ptr<Manager>> OpenOnHost(const Host& host, const std::string& path) {
  if (path.empty() || path.front() != '/' || path == "/") {
    return absl::InvalidArgumentError(absl::StrCat("invalid cgroup path \"", path, "\""));
  }
  switch (host.mode) {
    case Mode::kLegacy:
      return NewV1Manager(host, path);
    case Mode::kHybrid:
      return NewHybridManager(host, path);
    case Mode::kUnified:
      return NewV2Manager(host.unified, path);
  }
  return absl::InternalError("unknown cgroup mode");
}

namespace {

std::atomic<bool> cache_layout{false};
std::mutex layout_mu;
std::optional<Host> layout;  // the first successful detection, when caching

absl::StatusOr<Host> HostLayout() {
  if (!cache_layout.load()) return DetectHost();
  std::lock_guard lock(layout_mu);
  if (layout) return *layout;
  absl::StatusOr<Host> host = DetectHost();
  if (host.ok()) layout = *host;  // a failure is not cached
  return host;
}

}  // namespace

void CacheHostLayout() {
  cache_layout = true;
  (void)HostLayout();  // now, not in the first create; a failure is retried there
}

absl::StatusOr<std::unique_ptr<Manager>> Open(const std::string& cgroups_path,
                                              const std::string& id) {
  auto path = ResolveCgroupsPath(cgroups_path, id);
  if (!path.ok()) return path.status();
  auto host = HostLayout();
  if (!host.ok()) return host.status();
  return OpenOnHost(*host, *path);
}

}  // namespace peapod::cgroups
