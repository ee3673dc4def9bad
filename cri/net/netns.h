// Network namespaces pinned by a bind mount on a file, so a pod's network
// outlives its infra process (CNI DEL still finds it after a crash), and
// running code inside one.
#pragma once

#include <functional>
#include <string>

#include "absl/status/statusor.h"

namespace peapod::cri {

// A pinned network namespace at <dir>/<name>. Removed (unmounted and
// unlinked) on destruction unless Release()d.
class PinnedNetns {
 public:
  // Creates a new network namespace with its loopback up and pins it at
  // <dir>/<name> (dir is created if needed). AlreadyExists if the file is.
  static absl::StatusOr<PinnedNetns> Create(const std::string& dir, const std::string& name);
  // Pins an existing namespace (e.g. /proc/<pid>/ns/net) at <dir>/<name>.
  static absl::StatusOr<PinnedNetns> Pin(const std::string& source, const std::string& dir,
                                         const std::string& name);

  PinnedNetns() = default;
  PinnedNetns(PinnedNetns&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  PinnedNetns& operator=(PinnedNetns&& o) noexcept;
  PinnedNetns(const PinnedNetns&) = delete;
  PinnedNetns& operator=(const PinnedNetns&) = delete;
  ~PinnedNetns();

  const std::string& path() const { return path_; }
  // Keeps the namespace pinned; returns its path.
  std::string Release();
  // Unpins now.
  absl::Status Remove();

 private:
  explicit PinnedNetns(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Unmounts and unlinks a pinned namespace file. A missing file is fine.
absl::Status RemovePinnedNetns(const std::string& path);

// Brings the loopback interface of the namespace at netns_path up.
absl::Status BringLoopbackUp(const std::string& netns_path);

// Runs fn on a thread that has joined the network namespace at netns_path,
// and returns its status. Sockets fn creates belong to that namespace.
absl::Status RunInNetns(const std::string& netns_path, const std::function<absl::Status()>& fn);

}  // namespace peapod::cri
