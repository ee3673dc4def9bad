#include "cri/server/socket_claim.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "absl/cleanup/cleanup.h"
#include "cri/store/record_file.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(errno, Cat(what, " ", path));
}

absl::Status PrepareDir(const std::string& dir) {
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) {
    if (errno != ENOENT) return Errno("stat", dir);
    return EnsureDir(dir);  // Created 0700.
  }
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(Cat(dir, " is not a directory"));
  if ((st.st_mode & 077) != 0 || st.st_uid != geteuid()) {
    char mode[8];
    snprintf(mode, sizeof mode, "%04o", st.st_mode & 07777);
    return absl::FailedPreconditionError(Cat("socket directory ", dir, " must be owned by uid ",
                                             geteuid(), " with mode 0700 (it is mode ", mode,
                                             ", uid ", st.st_uid, ")"));
  }
  return absl::OkStatus();
}

// Whether something accepts connections on the unix socket at `path`.
bool SomeoneListens(const std::string& path) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  absl::Cleanup close_fd = [fd] { close(fd); };
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
  return connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
}

absl::Status RemoveStaleSocket(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    return errno == ENOENT ? absl::OkStatus() : Errno("stat", path);
  }
  if (!S_ISSOCK(st.st_mode)) {
    return absl::FailedPreconditionError(Cat(path, " exists and is not a socket"));
  }
  if (SomeoneListens(path)) {
    return absl::FailedPreconditionError(Cat("another server is listening on ", path));
  }
  if (unlink(path.c_str()) != 0) return Errno("remove stale socket", path);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<SocketClaim> SocketClaim::Acquire(const std::string& socket_path) {
  if (socket_path.empty() || socket_path[0] != '/') {
    return absl::InvalidArgumentError(Cat("socket path must be absolute: ", socket_path));
  }
  if (socket_path.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return absl::InvalidArgumentError(Cat("socket path too long: ", socket_path));
  }
  size_t slash = socket_path.rfind('/');
  std::string dir = slash == 0 ? std::string("/") : socket_path.substr(0, slash);
  if (absl::Status s = PrepareDir(dir); !s.ok()) return s;

  std::string lock_path = Cat(socket_path, ".lock");
  int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("open", lock_path);
  SocketClaim claim(socket_path, fd);
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    if (errno != EWOULDBLOCK) return Errno("lock", lock_path);
    char pid[32] = {};
    ssize_t n = pread(fd, pid, sizeof pid - 1, 0);
    std::string who = n > 0 ? Cat(" (pid ", std::string_view(pid, strcspn(pid, "\n")), ")") : "";
    return absl::FailedPreconditionError(
        Cat("another peapodd", who, " is already serving ", socket_path));
  }
  std::string me = Cat(getpid(), "\n");
  if (ftruncate(fd, 0) != 0 || pwrite(fd, me.data(), me.size(), 0) < 0) {
    return Errno("write", lock_path);
  }
  if (absl::Status s = RemoveStaleSocket(socket_path); !s.ok()) return s;
  return claim;
}

SocketClaim::SocketClaim(SocketClaim&& other) noexcept
    : path_(std::move(other.path_)), lock_fd_(other.lock_fd_) {
  other.lock_fd_ = -1;
}

SocketClaim::~SocketClaim() {
  if (lock_fd_ >= 0) close(lock_fd_);
}

absl::Status SocketClaim::RestrictSocket() const {
  if (chmod(path_.c_str(), 0660) != 0) return Errno("chmod", path_);
  return absl::OkStatus();
}

void SocketClaim::RemoveSocket() const { unlink(path_.c_str()); }

}  // namespace peapod::cri
