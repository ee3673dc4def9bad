#include "cri/images/fs_util.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <random>
#include <set>
#include <utility>

#include "absl/strings/str_cat.h"

namespace peapod::images {

absl::Status ErrnoStatus(std::string_view what, int err) {
  std::string msg = absl::StrCat(std::string(what), ": ", strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    default:
      return absl::InternalError(msg);
  }
}

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("MakeDirs: empty path");
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    std::string prefix = path.substr(0, pos);
    if (prefix.empty()) continue;
    if (mkdir(prefix.c_str(), mode) != 0 && errno != EEXIST) {
      return ErrnoStatus(absl::StrCat("mkdir ", prefix), errno);
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoStatus(absl::StrCat("stat ", path), errno);
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(path + ": not a directory");
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> OpenDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus(absl::StrCat("open ", path), errno);
  return UniqueFd(fd);
}

// Empties the directory open at `fd` (entries only, not the dir itself).
static absl::Status EmptyDir(int fd) {
  int dup_fd = dup(fd);
  if (dup_fd < 0) return ErrnoStatus("dup", errno);
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    close(dup_fd);
    return ErrnoStatus("fdopendir", errno);
  }
  std::vector<std::string> names;
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    names.emplace_back(e->d_name);
  }
  closedir(d);
  for (const auto& name : names) {
    if (absl::Status s = RemoveAt(fd, name); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status RemoveAt(int dir_fd, const std::string& name) {
  if (unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM) return ErrnoStatus("unlink " + name, errno);
  int fd = openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + name, errno);
  UniqueFd child(fd);
  if (absl::Status s = EmptyDir(child.get()); !s.ok()) return s;
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return ErrnoStatus("rmdir " + name, errno);
  }
  return absl::OkStatus();
}

absl::Status RemoveAll(const std::string& path) { return RemoveAt(AT_FDCWD, path); }

absl::Status SyncDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  UniqueFd dir(fd);
  if (fsync(dir.get()) != 0) return ErrnoStatus("fsync " + path, errno);
  return absl::OkStatus();
}

static std::string RandomSuffix() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrCat(getpid(), "-", rng() & 0xffffffffffULL);
}

absl::Status WriteFileAtomic(const std::string& path, std::string_view data,
                             const std::string& tmp_dir, bool durable) {
  std::string tmp = absl::StrCat(tmp_dir, "/write-", RandomSuffix());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create " + tmp, errno);
  UniqueFd file(fd);
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = write(file.get(), data.data() + off, data.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      unlink(tmp.c_str());
      return ErrnoStatus("write " + tmp, err);
    }
    off += n;
  }
  if ((durable && fsync(file.get()) != 0) || rename(tmp.c_str(), path.c_str()) != 0) {
    int err = errno;
    unlink(tmp.c_str());
    return ErrnoStatus("commit " + path, err);
  }
  return durable ? SyncDir(path.substr(0, path.rfind('/'))) : absl::OkStatus();
}

absl::StatusOr<std::string> ReadFileBounded(const std::string& path, size_t max_bytes) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoStatus("open " + path, errno);
  UniqueFd file(fd);
  return ReadFdBounded(file.get(), path, max_bytes);
}

absl::StatusOr<std::string> ReadFdBounded(int fd, const std::string& what, size_t max_bytes) {
  std::string out;
  char buf[65536];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read " + what, errno);
    if (n == 0) break;
    if (out.size() + n > max_bytes) {
      return absl::OutOfRangeError(absl::StrCat(what, ": larger than ", max_bytes, " bytes"));
    }
    out.append(buf, n);
  }
  return out;
}

int OpenInRoot(int root_fd, const std::string& path, uint64_t flags) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  const char* p = path.empty() ? "." : path.c_str();
  for (;;) {
    int fd = static_cast<int>(syscall(SYS_openat2, root_fd, p, &how, sizeof how));
    if (fd >= 0 || errno != EAGAIN) return fd;
  }
}

static void Measure(int dir_fd, DiskUsage& du, std::set<std::pair<dev_t, ino_t>>& seen) {
  int dup_fd = dup(dir_fd);
  if (dup_fd < 0) return;
  DIR* d = fdopendir(dup_fd);
  if (d == nullptr) {
    close(dup_fd);
    return;
  }
  while (struct dirent* e = readdir(d)) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    struct stat st;
    if (fstatat(dir_fd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!seen.insert({st.st_dev, st.st_ino}).second) continue;
    du.inodes++;
    du.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    if (S_ISDIR(st.st_mode)) {
      int fd = openat(dir_fd, e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd < 0) continue;
      UniqueFd child(fd);
      Measure(child.get(), du, seen);
    }
  }
  closedir(d);
}

absl::StatusOr<DiskUsage> MeasureTree(const std::string& path) {
  auto dir = OpenDir(path);
  if (!dir.ok()) return dir.status();
  DiskUsage du;
  std::set<std::pair<dev_t, ino_t>> seen;
  Measure(dir->get(), du, seen);
  return du;
}

absl::StatusOr<FileLock> FileLock::Acquire(const std::string& path, bool shared) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open lock " + path, errno);
  UniqueFd file(fd);
  while (flock(file.get(), shared ? LOCK_SH : LOCK_EX) != 0) {
    if (errno != EINTR) return ErrnoStatus("flock " + path, errno);
  }
  return FileLock(std::move(file));
}

absl::StatusOr<FileLock> FileLock::TryAcquire(const std::string& path) {
  int fd = open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return ErrnoStatus("open lock " + path, errno);
  UniqueFd file(fd);
  if (flock(file.get(), LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) return absl::UnavailableError(path + " is locked");
    return ErrnoStatus("flock " + path, errno);
  }
  return FileLock(std::move(file));
}

}  // namespace peapod::images
