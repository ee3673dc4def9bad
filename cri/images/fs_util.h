// Small file-system helpers for the image store: an owning fd, atomic file
// writes, recursive removal relative to a directory fd, and flock-based locks.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"

namespace peapod::images {

// An owning file descriptor; closes on destruction.
using UniqueFd = linux::UniqueFd;

// An error status carrying errno's text: "<what>: <strerror>".
absl::Status ErrnoStatus(std::string_view what, int err);

// Creates a directory and its parents (like mkdir -p); existing dirs are fine.
absl::Status MakeDirs(const std::string& path, mode_t mode = 0755);

// Opens a directory (O_DIRECTORY|O_CLOEXEC).
absl::StatusOr<UniqueFd> OpenDir(const std::string& path);

// Removes `name` inside `dir_fd` and everything below it, never following
// symlinks. A missing entry is not an error.
absl::Status RemoveAt(int dir_fd, const std::string& name);

// Removes a path recursively (rm -rf); a missing path is not an error.
absl::Status RemoveAll(const std::string& path);

// Writes `data` to `path` atomically: temp file in `tmp_dir`, fsync, rename,
// fsync of the destination directory. With durable = false, no fsync: a
// crash leaves the old file or the new one, a power cut may leave neither.
absl::Status WriteFileAtomic(const std::string& path, std::string_view data,
                             const std::string& tmp_dir, bool durable = true);

// Reads a whole file, failing with OutOfRange when it exceeds max_bytes.
absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t max_bytes);
// The same from an open fd (to its end); `what` names it in errors.
absl::StatusOr<std::string> ReadFdBounded(int fd, const std::string& what, size_t max_bytes);

// openat2 of `path` below the directory `root_fd` with RESOLVE_IN_ROOT |
// RESOLVE_NO_MAGICLINKS: "..", absolute paths and symlinks resolve as if
// root_fd were "/", so the result is never outside it. O_CLOEXEC is added.
// Returns the fd, or -1 with errno set.
int OpenInRoot(int root_fd, const std::string& path, uint64_t flags);

// fsyncs the directory at `path` (makes renames inside it durable).
absl::Status SyncDir(const std::string& path);

// Bytes and inodes used by the tree at `path` (files not followed through symlinks).
struct DiskUsage {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
};
absl::StatusOr<DiskUsage> MeasureTree(const std::string& path);

// An exclusive flock on a lock file, held for the object's lifetime. Safe
// between threads (each lock opens its own file description) and processes.
class FileLock {
 public:
  // Blocks until the lock at `path` (created if missing) is held; a shared
  // lock may be held by many at once, an exclusive one by one holder only.
  static absl::StatusOr<FileLock> Acquire(const std::string& path, bool shared = false);
  // Takes the lock only if free now; Unavailable otherwise.
  static absl::StatusOr<FileLock> TryAcquire(const std::string& path);
  FileLock(FileLock&&) = default;
  FileLock& operator=(FileLock&&) = default;

 private:
  explicit FileLock(UniqueFd fd) : fd_(std::move(fd)) {}
  UniqueFd fd_;
};

}  // namespace peapod::images
