// Whole-file helpers.
#include "oci/linux/file_util.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/unique_fd.h"

namespace peapod::linux {

absl::Status WriteFileOnce(const std::string& path, absl::string_view text) {
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoStatus("open " + path);
  ssize_t n = ::write(fd.get(), text.data(), text.size());
  if (n < 0) return ErrnoStatus("write " + path);
  if (static_cast<size_t>(n) != text.size()) {
    return absl::InternalError(absl::StrCat("write ", path, ": short write"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadWholeFile(const std::string& path, size_t max_bytes) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY));
  if (!fd) return ErrnoStatus("open " + path);
  std::string out;
  char buf[8192];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return ErrnoStatus("read " + path);
    }
    if (n == 0) break;
    out.append(buf, n);
    if (out.size() > max_bytes) {
      return absl::InvalidArgumentError(absl::StrCat(path, ": larger than ", max_bytes, " bytes"));
    }
  }
  return out;
}

namespace {

// Temp file in the same dir, then rename over `path`; with `durable`, the
// data and the directory entry are fsynced too.
absl::Status WriteViaRename(const std::string& path, absl::string_view text, mode_t mode,
                            bool durable) {
  size_t slash = path.rfind('/');
  std::string dir = slash == std::string::npos ? std::string(".")
                    : slash == 0               ? std::string("/")
                                               : path.substr(0, slash);
  std::string tmp = absl::StrCat(path, ".tmp.", ::getpid());
  UniqueFd fd(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode));
  if (!fd) return ErrnoStatus("create " + tmp);
  size_t off = 0;
  while (off < text.size()) {
    ssize_t n = ::write(fd.get(), text.data() + off, text.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status st = ErrnoStatus("write " + tmp);
      ::unlink(tmp.c_str());
      return st;
    }
    off += n;
  }
  if (durable && ::fsync(fd.get()) != 0) {
    absl::Status st = ErrnoStatus("fsync " + tmp);
    ::unlink(tmp.c_str());
    return st;
  }
  fd.Reset();
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    absl::Status st = ErrnoStatus("rename " + tmp);
    ::unlink(tmp.c_str());
    return st;
  }
  if (!durable) return absl::OkStatus();
  UniqueFd dfd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (dfd) ::fsync(dfd.get());
  return absl::OkStatus();
}

}  // namespace

absl::Status WriteFileAtomic(const std::string& path, absl::string_view text, mode_t mode) {
  return WriteViaRename(path, text, mode, true);
}

absl::Status ReplaceFile(const std::string& path, absl::string_view text, mode_t mode) {
  return WriteViaRename(path, text, mode, false);
}

absl::StatusOr<ProcStat> ReadProcStat(pid_t pid) {
  absl::StatusOr<std::string> text = ReadWholeFile(absl::StrCat("/proc/", pid, "/stat"));
  if (!text.ok()) {
    return absl::NotFoundError(absl::StrCat("process ", pid, " is gone"));
  }
  // The command name (field 2) may hold spaces and parentheses: fields
  // after it start after the last ')'.
  size_t close = text->rfind(')');
  if (close == std::string::npos || close + 2 >= text->size()) {
    return absl::InternalError(absl::StrCat("/proc/", pid, "/stat: unexpected format"));
  }
  std::vector<absl::string_view> fields =
      absl::StrSplit(absl::string_view(*text).substr(close + 2), ' ', absl::SkipEmpty());
  // fields[0] is field 3 (state); field 22 (starttime) is fields[19].
  ProcStat st;
  if (fields.size() < 20 || fields[0].empty() || !absl::SimpleAtoi(fields[19], &st.start_time)) {
    return absl::InternalError(absl::StrCat("/proc/", pid, "/stat: unexpected format"));
  }
  st.state = fields[0][0];
  return st;
}

}  // namespace peapod::linux
