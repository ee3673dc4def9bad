// Paths resolved INSIDE a root directory: openat2(RESOLVE_IN_ROOT) so ".."
// and symlinks (absolute or relative) can never lead out of the root. Mounts
// then target "/proc/self/fd/N" of the O_PATH fd, not a path string.
#pragma once

#include <sys/types.h>

#include <string>

#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"

namespace peapod::linux {

// Opens `path` (absolute or relative, interpreted inside root_fd) with
// openat2 RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS.
absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags,
                                    mode_t mode = 0);

// Creates every missing directory of `path` inside the root (one mkdirat per
// component under a resolved parent fd); returns an O_PATH fd of the last.
absl::StatusOr<UniqueFd> MkdirAllInRoot(int root_fd, const std::string& path, mode_t mode);

// Creates an empty regular file at `path` inside the root (its parent
// directories too) unless something exists there; returns an O_PATH fd.
absl::StatusOr<UniqueFd> CreateFileInRoot(int root_fd, const std::string& path, mode_t mode);

// "/proc/self/fd/<fd>", the path through which mount(2) targets an fd.
std::string FdPath(int fd);

// The parent directory part and the last component of a path ("/a/b" →
// "/a", "b"). The last component is never "" or ".." for a valid path.
std::pair<std::string, std::string> SplitLast(const std::string& path);

// Lexically cleans an absolute path inside a root ("/a/../b//c" → "/b/c";
// ".." at the top stays at "/").
std::string CleanPath(const std::string& path);

}  // namespace peapod::linux
