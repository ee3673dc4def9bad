// openat2-based resolution inside a root.
#include "oci/linux/path_resolve.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "oci/linux/errno_status.h"

namespace peapod::linux {
namespace {

std::string Relative(const std::string& path) {
  std::string clean = CleanPath(path);
  return clean == "/" ? "." : clean.substr(1);
}

}  // namespace

std::string CleanPath(const std::string& path) {
  std::vector<absl::string_view> out;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  return "/" + absl::StrJoin(out, "/");
}

std::pair<std::string, std::string> SplitLast(const std::string& path) {
  std::string clean = CleanPath(path);
  size_t slash = clean.rfind('/');
  std::string parent = slash == 0 ? "/" : clean.substr(0, slash);
  return {parent, clean.substr(slash + 1)};
}

std::string FdPath(int fd) { return absl::StrCat("/proc/self/fd/", fd); }

absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags, mode_t mode) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.mode = (flags & O_CREAT) ? mode : 0;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = Relative(path);
  long fd;
  do {
    fd = ::syscall(SYS_openat2, root_fd, rel.c_str(), &how, sizeof how);
  } while (fd < 0 && (errno == EAGAIN || errno == EINTR));
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path, " in container root"));
  return UniqueFd(static_cast<int>(fd));
}

namespace {

absl::StatusOr<UniqueFd> MkdirAllDepth(int root_fd, const std::string& path, mode_t mode,
                                       int depth);

// `name` in `dir` is a symlink whose target is missing: create the target
// (interpreted inside the root) as a directory.
absl::Status MkdirSymlinkTarget(int root_fd, int dir, const std::string& parent,
                                const std::string& name, mode_t mode, int depth) {
  char buf[4096];
  ssize_t n = ::readlinkat(dir, name.c_str(), buf, sizeof buf - 1);
  if (n <= 0) return ErrnoStatus(absl::StrCat("readlink ", parent, "/", name));
  std::string to(buf, n);
  std::string target = to[0] == '/' ? CleanPath(to) : CleanPath(parent + "/" + to);
  return MkdirAllDepth(root_fd, target, mode, depth + 1).status();
}

absl::StatusOr<UniqueFd> MkdirAllDepth(int root_fd, const std::string& path, mode_t mode,
                                       int depth) {
  if (depth > 40) return ErrnoStatus(ELOOP, "mkdir " + path + " in container root");
  std::string clean = CleanPath(path);
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd dir, OpenInRoot(root_fd, "/", O_PATH | O_DIRECTORY));
  std::string done = "/";
  for (absl::string_view part : absl::StrSplit(clean, '/', absl::SkipEmpty())) {
    std::string next = done == "/" ? absl::StrCat("/", part) : absl::StrCat(done, "/", part);
    absl::StatusOr<UniqueFd> sub = OpenInRoot(root_fd, next, O_PATH | O_DIRECTORY);
    if (!sub.ok() && absl::IsNotFound(sub.status())) {
      // mkdirat on the resolved parent fd: the new name is created where
      // the parent really is, never through a symlink.
      std::string name(part);
      if (::mkdirat(dir.get(), name.c_str(), mode) != 0) {
        if (errno != EEXIST) return ErrnoStatus(absl::StrCat("mkdir ", next, " in container root"));
        PEAPOD_RETURN_IF_ERROR(MkdirSymlinkTarget(root_fd, dir.get(), done, name, mode, depth));
      }
      sub = OpenInRoot(root_fd, next, O_PATH | O_DIRECTORY);
    }
    if (!sub.ok()) return sub.status();
    dir = *std::move(sub);
    done = next;
  }
  return dir;
}

}  // namespace

absl::StatusOr<UniqueFd> MkdirAllInRoot(int root_fd, const std::string& path, mode_t mode) {
  return MkdirAllDepth(root_fd, path, mode, 0);
}

absl::StatusOr<UniqueFd> CreateFileInRoot(int root_fd, const std::string& path, mode_t mode) {
  absl::StatusOr<UniqueFd> existing = OpenInRoot(root_fd, path, O_PATH);
  if (existing.ok() || !absl::IsNotFound(existing.status())) return existing;
  auto [parent, name] = SplitLast(path);
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd dir, MkdirAllInRoot(root_fd, parent, 0755));
  UniqueFd f(::openat(dir.get(), name.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW,
                      mode));
  if (!f && errno != EEXIST)
    return ErrnoStatus(absl::StrCat("create ", path, " in container root"));
  return OpenInRoot(root_fd, path, O_PATH);
}

}  // namespace peapod::linux
