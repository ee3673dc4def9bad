#include "cri/store/record_file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <memory>
#include <thread>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

absl::Status Errno(std::string_view what, const std::string& path) {
  return absl::ErrnoToStatus(errno, Cat(what, " ", path));
}

absl::Status FsyncDir(const std::string& dir) {
  int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Errno("open", dir);
  absl::Cleanup close_fd = [fd] { close(fd); };
  if (fsync(fd) != 0) return Errno("fsync", dir);
  return absl::OkStatus();
}

absl::Status WriteAll(int fd, const std::string& data, const std::string& path) {
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("write", path);
    done += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status EnsureDir(const std::string& dir) {
  for (size_t pos = 1; pos <= dir.size(); ++pos) {
    if (pos != dir.size() && dir[pos] != '/') continue;
    std::string prefix = dir.substr(0, pos);
    if (mkdir(prefix.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", prefix);
  }
  struct stat st;
  if (stat(dir.c_str(), &st) != 0) return Errno("stat", dir);
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(Cat(dir, " is not a directory"));
  return absl::OkStatus();
}

absl::StatusOr<std::string> WriteTempFile(const std::string& dir, const std::string& name,
                                          const std::string& contents, bool sync) {
  static std::atomic<uint64_t> counter{0};
  std::string tmp = Cat(dir, "/.", name, ".", counter.fetch_add(1), ".tmp");
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return Errno("create", tmp);
  bool done = false;
  absl::Cleanup cleanup = [&] {
    if (fd >= 0) close(fd);
    if (!done) unlink(tmp.c_str());
  };
  if (absl::Status s = WriteAll(fd, contents, tmp); !s.ok()) return s;
  if (sync && fsync(fd) != 0) return Errno("fsync", tmp);
  int closing = fd;
  fd = -1;
  if (close(closing) != 0) return Errno("close", tmp);
  done = true;
  return tmp;
}

absl::Status CommitTempFile(const std::string& tmp, const std::string& dir,
                            const std::string& name) {
  std::string final_path = Cat(dir, "/", name);
  if (rename(tmp.c_str(), final_path.c_str()) != 0) {
    absl::Status s = Errno("rename to", final_path);
    unlink(tmp.c_str());
    return s;
  }
  return absl::OkStatus();
}

absl::Status SyncFile(const std::string& dir, const std::string& name) {
  std::string path = Cat(dir, "/", name);
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::Cleanup close_fd = [fd] { close(fd); };
  if (fsync(fd) != 0) return Errno("fsync", path);
  return absl::OkStatus();
}

absl::Status SyncFileAndDir(const std::string& dir, const std::string& name) {
  // Both at once: neither needs the other first (the file is already in
  // place), and on a journaling filesystem the second one to start joins
  // the commit the first started instead of waiting for its own: one disk
  // round trip where there were two.
  absl::Status dir_status;
  std::thread dir_sync([&] { dir_status = FsyncDir(dir); });
  absl::Status file_status = SyncFile(dir, name);
  dir_sync.join();
  return file_status.ok() ? dir_status : file_status;
}

absl::Status SyncDir(const std::string& dir) { return FsyncDir(dir); }

absl::Status WriteFileAtomic(const std::string& dir, const std::string& name,
                             const std::string& contents) {
  absl::StatusOr<std::string> tmp = WriteTempFile(dir, name, contents, true);
  if (!tmp.ok()) return tmp.status();
  if (absl::Status s = CommitTempFile(*tmp, dir, name); !s.ok()) return s;
  return FsyncDir(dir);
}

absl::Status RemoveFileDurable(const std::string& dir, const std::string& name) {
  std::string path = Cat(dir, "/", name);
  if (unlink(path.c_str()) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return Errno("unlink", path);
  }
  return FsyncDir(dir);
}

absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir,
                                                   const std::string& suffix) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) return Errno("opendir", dir);
  std::vector<std::string> names;
  while (dirent* e = readdir(d.get())) {
    std::string name = e->d_name;
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    if (name.size() > suffix.size() && name.ends_with(suffix) && name[0] != '.') {
      names.push_back(std::move(name));
    }
  }
  std::sort(names.begin(), names.end());
  return names;
}

absl::Status RemoveTempFiles(const std::string& dir) {
  std::unique_ptr<DIR, int (*)(DIR*)> d(opendir(dir.c_str()), closedir);
  if (!d) return Errno("opendir", dir);
  while (dirent* e = readdir(d.get())) {
    std::string_view name = e->d_name;
    if (name.size() > 5 && name[0] == '.' && name.ends_with(".tmp")) {
      unlinkat(dirfd(d.get()), e->d_name, 0);
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadSmallFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Errno("open", path);
  absl::Cleanup close_fd = [fd] { close(fd); };
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return Errno("read", path);
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
    if (out.size() > (16u << 20)) return absl::OutOfRangeError(Cat(path, " is too large"));
  }
  return out;
}

}  // namespace peapod::cri
