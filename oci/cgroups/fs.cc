#include "oci/cgroups/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace peapod::cgroups {

absl::StatusOr<UniqueFd> OpenDir(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
  return UniqueFd(fd);
}

bool IsPlainFileName(absl::string_view name) {
  if (name.empty() || name == "." || name == "..") return false;
  for (char c : name) {
    if (c == '/' || c == '\0' || c == '\n') return false;
  }
  return true;
}

absl::StatusOr<UniqueFd> OpenFileIn(const std::string& dir, absl::string_view file, int flags) {
  if (!IsPlainFileName(file)) {
    return absl::InvalidArgumentError(absl::StrCat("invalid cgroup file name \"", file, "\""));
  }
  auto dfd = OpenDir(dir);
  if (!dfd.ok()) return dfd.status();
  std::string name(file);
  int fd = openat(dfd->get(), name.c_str(), flags | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", dir, "/", file));
  return UniqueFd(fd);
}

absl::StatusOr<std::string> ReadFile(const std::string& dir, absl::string_view file) {
  auto fd = OpenFileIn(dir, file, O_RDONLY);
  if (!fd.ok()) return fd.status();
  std::string out;
  char buf[4096];
  for (;;) {
    ssize_t n = read(fd->get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return absl::ErrnoToStatus(errno, absl::StrCat("read ", dir, "/", file));
    if (n == 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

absl::StatusOr<std::string> ReadTrimmed(const std::string& dir, absl::string_view file) {
  auto text = ReadFile(dir, file);
  if (!text.ok()) return text.status();
  return std::string(absl::StripTrailingAsciiWhitespace(*text));
}

absl::StatusOr<uint64_t> ReadUint(const std::string& dir, absl::string_view file) {
  auto text = ReadTrimmed(dir, file);
  if (!text.ok()) return text.status();
  if (*text == "max") return std::numeric_limits<uint64_t>::max();
  uint64_t v = 0;
  if (!absl::SimpleAtoi(*text, &v)) {
    // v1 reports "-1" for some unlimited values.
    int64_t s = 0;
    if (absl::SimpleAtoi(*text, &s) && s < 0) return std::numeric_limits<uint64_t>::max();
    return absl::InternalError(
        absl::StrCat(dir, "/", file, ": expected a number, got \"", *text, "\""));
  }
  return v;
}

absl::Status WriteFile(const std::string& dir, absl::string_view file, absl::string_view value) {
  auto fd = OpenFileIn(dir, file, O_WRONLY);
  if (!fd.ok()) return fd.status();
  for (;;) {
    ssize_t n = write(fd->get(), value.data(), value.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      return absl::ErrnoToStatus(errno, absl::StrCat("write \"", value, "\" to ", dir, "/", file));
    }
    return absl::OkStatus();
  }
}

bool FileExists(const std::string& dir, absl::string_view file) {
  if (!IsPlainFileName(file)) return false;
  auto dfd = OpenDir(dir);
  if (!dfd.ok()) return false;
  struct stat st;
  return fstatat(dfd->get(), std::string(file).c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
         S_ISREG(st.st_mode);
}

std::vector<std::pair<std::string, uint64_t>> ParseKeyValues(absl::string_view text) {
  std::vector<std::pair<std::string, uint64_t>> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ', absl::SkipEmpty());
    uint64_t v = 0;
    if (f.size() == 2 && absl::SimpleAtoi(f[1], &v)) out.emplace_back(std::string(f[0]), v);
  }
  return out;
}

uint64_t KeyValue(absl::string_view text, absl::string_view key) {
  for (const auto& [k, v] : ParseKeyValues(text)) {
    if (k == key) return v;
  }
  return 0;
}

absl::StatusOr<std::vector<std::string>> MakeDirs(const std::string& root, const std::string& rel) {
  auto dfd = OpenDir(root);
  if (!dfd.ok()) return dfd.status();
  std::vector<std::string> created;
  std::string path = root;
  for (absl::string_view comp : absl::StrSplit(rel, '/', absl::SkipEmpty())) {
    if (!IsPlainFileName(comp)) {
      return absl::InvalidArgumentError(
          absl::StrCat("invalid cgroup path component \"", comp, "\" in \"", rel, "\""));
    }
    std::string name(comp);
    absl::StrAppend(&path, "/", name);
    if (mkdirat(dfd->get(), name.c_str(), 0755) == 0) {
      created.push_back(path);
    } else if (errno != EEXIST) {
      return absl::ErrnoToStatus(errno, absl::StrCat("mkdir ", path));
    }
    int next = openat(dfd->get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (next < 0) return absl::ErrnoToStatus(errno, absl::StrCat("open ", path));
    *dfd = UniqueFd(next);
  }
  return created;
}

namespace {

absl::StatusOr<std::vector<std::string>> ListEntries(const std::string& dir, unsigned char type) {
  auto dfd = OpenDir(dir);
  if (!dfd.ok()) return dfd.status();
  DIR* d = fdopendir(dfd->get());
  if (d == nullptr) return absl::ErrnoToStatus(errno, absl::StrCat("opendir ", dir));
  dfd->Release();  // now owned by `d`
  std::vector<std::string> out;
  while (struct dirent* e = readdir(d)) {
    absl::string_view name = e->d_name;
    if (e->d_type == type && name != "." && name != "..") out.emplace_back(name);
  }
  closedir(d);
  return out;
}

}  // namespace

absl::StatusOr<std::vector<std::string>> ListSubdirs(const std::string& dir) {
  return ListEntries(dir, DT_DIR);
}

absl::StatusOr<std::vector<std::string>> ListFiles(const std::string& dir) {
  return ListEntries(dir, DT_REG);
}

namespace {

// rmdir with a short retry on EBUSY: a just-killed task may still be
// leaving the cgroup.
absl::Status RmdirRetry(const std::string& dir) {
  for (int attempt = 0;; ++attempt) {
    if (rmdir(dir.c_str()) == 0 || errno == ENOENT) return absl::OkStatus();
    if (errno != EBUSY || attempt >= 100) {
      return absl::ErrnoToStatus(errno, absl::StrCat("rmdir ", dir));
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

}  // namespace

absl::Status RemoveTree(const std::string& dir) {
  auto subdirs = ListSubdirs(dir);
  if (!subdirs.ok()) {
    if (absl::IsNotFound(subdirs.status())) return absl::OkStatus();
    return subdirs.status();
  }
  for (const std::string& sub : *subdirs) {
    if (auto st = RemoveTree(absl::StrCat(dir, "/", sub)); !st.ok()) return st;
  }
  return RmdirRetry(dir);
}

absl::StatusOr<std::vector<pid_t>> ReadProcsRecursive(const std::string& dir) {
  auto text = ReadFile(dir, "cgroup.procs");
  if (!text.ok()) return text.status();
  std::vector<pid_t> pids;
  for (absl::string_view line : absl::StrSplit(*text, '\n', absl::SkipEmpty())) {
    pid_t pid = 0;
    if (absl::SimpleAtoi(line, &pid)) pids.push_back(pid);
  }
  auto subdirs = ListSubdirs(dir);
  if (!subdirs.ok()) return subdirs.status();
  for (const std::string& sub : *subdirs) {
    auto more = ReadProcsRecursive(absl::StrCat(dir, "/", sub));
    if (!more.ok()) {
      if (absl::IsNotFound(more.status())) continue;  // removed meanwhile
      return more.status();
    }
    pids.insert(pids.end(), more->begin(), more->end());
  }
  return pids;
}

}  // namespace peapod::cgroups
