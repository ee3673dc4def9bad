// Fd hygiene: nothing of the launcher reaches the container.
#include <dirent.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/process_setup.h"

namespace peapod::linux {

std::vector<int> OpenFds() {
  std::vector<int> out;
  DIR* d = ::opendir("/proc/self/fd");
  if (d == nullptr) return out;
  int self = ::dirfd(d);
  while (struct dirent* e = ::readdir(d)) {
    int fd;
    if (absl::SimpleAtoi(e->d_name, &fd) && fd != self) out.push_back(fd);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

absl::Status MoveFdsAbove(std::vector<int*> fds, int min_fd) {
  // Duplicate everything first, then close the originals once each: two
  // pointers may hold the same fd. Fds 0-2 are stdio and stay where they are.
  std::vector<int> originals;
  for (int* fd : fds) {
    if (*fd < 3 || *fd >= min_fd) continue;
    int moved = ::fcntl(*fd, F_DUPFD_CLOEXEC, min_fd);
    if (moved < 0) return ErrnoStatus("move fd");
    originals.push_back(*fd);
    *fd = moved;
  }
  std::sort(originals.begin(), originals.end());
  originals.erase(std::unique(originals.begin(), originals.end()), originals.end());
  for (int fd : originals) ::close(fd);
  return absl::OkStatus();
}

absl::Status CloseExtraFds(int preserve_fds, const std::vector<int>& keep) {
  int first = 3 + std::max(preserve_fds, 0);
  for (int fd = 3; fd < first; ++fd) {
    int flags = ::fcntl(fd, F_GETFD);
    if (flags < 0) return ErrnoStatus(absl::StrCat("preserved fd ", fd));
    if (::fcntl(fd, F_SETFD, flags & ~FD_CLOEXEC) != 0) return ErrnoStatus("clear CLOEXEC");
  }
  // Close [first, ∞) except `keep`, range by range.
  std::vector<int> sorted(keep.begin(), keep.end());
  std::sort(sorted.begin(), sorted.end());
  unsigned int lo = first;
  for (int k : sorted) {
    if (k < first) continue;
    if (static_cast<unsigned>(k) > lo &&
        ::syscall(SYS_close_range, lo, static_cast<unsigned>(k) - 1, 0) != 0) {
      return ErrnoStatus("close_range");
    }
    ::fcntl(k, F_SETFD, FD_CLOEXEC);
    lo = static_cast<unsigned>(k) + 1;
  }
  if (::syscall(SYS_close_range, lo, ~0U, 0) != 0) return ErrnoStatus("close_range");
  return absl::OkStatus();
}

void SetListenEnv(std::vector<std::string>* env, int preserve_fds, pid_t pid) {
  if (preserve_fds <= 0) return;
  std::erase_if(*env, [](const std::string& e) {
    return e.rfind("LISTEN_FDS=", 0) == 0 || e.rfind("LISTEN_PID=", 0) == 0;
  });
  env->push_back(absl::StrCat("LISTEN_FDS=", preserve_fds));
  env->push_back(absl::StrCat("LISTEN_PID=", pid));
}

}  // namespace peapod::linux
