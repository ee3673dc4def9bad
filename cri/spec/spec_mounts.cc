#include "cri/spec/spec_mounts.h"
#include "cri/spec/errno_status.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <filesystem>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace peapod::cri::spec {
namespace {

oci::Mount Bind(std::string dest, std::string source, std::vector<std::string> options) {
  return oci::Mount{std::move(dest), "bind", std::move(source), std::move(options), {}, {}};
}

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(absl::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size()) {
      int v = (s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0');
      out.push_back(static_cast<char>(v));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

bool UnderMount(absl::string_view path, absl::string_view mount_point) {
  if (mount_point == "/") return true;
  return absl::StartsWith(path, mount_point) &&
         (path.size() == mount_point.size() || path[mount_point.size()] == '/');
}

absl::Status ValidatePermissions(const std::string& perms, absl::string_view field) {
  bool ok = !perms.empty() && perms.size() <= 3;
  for (size_t i = 0; ok && i < perms.size(); ++i) {
    ok = absl::string_view("rwm").find(perms[i]) != absl::string_view::npos &&
         perms.find(perms[i], i + 1) == std::string::npos;
  }
  if (!ok) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", perms, "\" is not a subset of \"rwm\""));
  }
  return absl::OkStatus();
}

// Adds one node if `host` is a character or block device; false if not.
bool AddNode(const std::string& host, const std::string& dest, const std::string& perms,
             oci::Linux* linux) {
  struct stat st;
  if (stat(host.c_str(), &st) != 0) return false;
  if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) return false;
  std::string type = S_ISCHR(st.st_mode) ? "c" : "b";
  int64_t maj = major(st.st_rdev), min = minor(st.st_rdev);
  linux->devices.push_back(
      oci::Device{type, dest, maj, min, st.st_mode & 07777u, st.st_uid, st.st_gid});
  if (!linux->resources) linux->resources.emplace();
  linux->resources->devices.push_back(oci::DeviceCgroupRule{true, type, maj, min, perms});
  return true;
}

}  // namespace

absl::StatusOr<std::string> CleanAbsolute(absl::string_view path, absl::string_view field) {
  if (path.empty() || path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", path, "\" is not an absolute path"));
  }
  std::vector<absl::string_view> parts;
  for (absl::string_view p : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (p == ".") continue;
    if (p == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(p);
  }
  return absl::StrCat("/", absl::StrJoin(parts, "/"));
}

std::vector<oci::Mount> DefaultMounts(bool privileged) {
  std::string ro = privileged ? "rw" : "ro";
  return {
      {"/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}, {}, {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}, {}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
       {},
       {}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, {}, {}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", ro}, {}, {}},
      {"/sys/fs/cgroup", "cgroup", "cgroup", {"nosuid", "noexec", "nodev", "relatime", ro}, {}, {}},
  };
}

oci::Mount ShmMount(const PodInfo& pod, NamespaceMode ipc) {
  if (ipc == NamespaceMode::kNode) return Bind("/dev/shm", "/dev/shm", {"rbind", "rprivate", "rw"});
  if (ipc == NamespaceMode::kPod && !pod.shm_path.empty()) {
    return Bind("/dev/shm", pod.shm_path, {"rbind", "rprivate", "nosuid", "nodev", "noexec", "rw"});
  }
  return {"/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
          {},         {}};
}

std::vector<oci::Mount> PodFileMounts(const PodInfo& pod, bool readonly,
                                      const std::vector<std::string>& user_destinations) {
  std::vector<oci::Mount> out;
  const std::pair<const char*, const std::string*> files[] = {
      {"/etc/hostname", &pod.hostname_path},
      {"/etc/hosts", &pod.hosts_path},
      {"/etc/resolv.conf", &pod.resolv_conf_path}};
  for (const auto& [dest, source] : files) {
    if (source->empty()) continue;
    if (std::find(user_destinations.begin(), user_destinations.end(), dest) !=
        user_destinations.end()) {
      continue;
    }
    out.push_back(Bind(dest, *source, {"rbind", "rprivate", readonly ? "ro" : "rw"}));
  }
  return out;
}

absl::Status CheckPropagation(absl::string_view mountinfo, const std::string& path,
                              Propagation propagation) {
  if (propagation == Propagation::kPrivate) return absl::OkStatus();
  // The mount holding `path` is the one with the longest mount point that is
  // a prefix of it; of equal ones, the last listed (mounted on top).
  std::string best_point;
  std::vector<absl::string_view> best_tags;
  bool found = false;
  for (absl::string_view line : absl::StrSplit(mountinfo, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, ' ');
    if (f.size() < 7) continue;
    std::string point = Unescape(f[4]);
    if (!UnderMount(path, point) || (found && point.size() < best_point.size())) continue;
    found = true;
    best_point = point;
    best_tags.clear();
    for (size_t i = 6; i < f.size() && f[i] != "-"; ++i) best_tags.push_back(f[i]);
  }
  if (!found) return absl::FailedPreconditionError(absl::StrCat("no mount holds ", path));
  auto has = [&best_tags](absl::string_view tag) {
    return std::any_of(best_tags.begin(), best_tags.end(),
                       [tag](absl::string_view t) { return absl::StartsWith(t, tag); });
  };
  if (propagation == Propagation::kBidirectional && !has("shared:")) {
    return absl::FailedPreconditionError(
        absl::StrCat("mounts: ", path, " is on mount ", best_point,
                     " which is not shared (BIDIRECTIONAL propagation needs a shared mount)"));
  }
  if (propagation == Propagation::kHostToContainer && !has("shared:") && !has("master:")) {
    return absl::FailedPreconditionError(absl::StrCat(
        "mounts: ", path, " is on mount ", best_point,
        " which is neither shared nor a slave (HOST_TO_CONTAINER propagation needs one)"));
  }
  return absl::OkStatus();
}

absl::StatusOr<oci::Mount> UserMount(const MountInput& mount, absl::string_view mountinfo,
                                     std::string* rootfs_propagation) {
  absl::StatusOr<std::string> dest = CleanAbsolute(mount.container_path, "mounts.container_path");
  if (!dest.ok()) return dest.status();
  if (mount.host_path.empty() || mount.host_path[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("mounts.host_path: \"", mount.host_path, "\" is not an absolute path"));
  }
  std::error_code ec;
  if (!std::filesystem::exists(mount.host_path, ec)) {
    std::filesystem::create_directories(mount.host_path, ec);
    if (ec) return ErrnoStatus(ec.value(), absl::StrCat("mkdir ", mount.host_path));
  }
  char* real = realpath(mount.host_path.c_str(), nullptr);
  if (real == nullptr) return ErrnoStatus(errno, absl::StrCat("realpath ", mount.host_path));
  std::string source = real;
  free(real);
  if (absl::Status s = CheckPropagation(mountinfo, source, mount.propagation); !s.ok()) return s;
  std::string prop = "rprivate";
  if (mount.propagation == Propagation::kHostToContainer) {
    prop = "rslave";
    if (*rootfs_propagation != "rshared") *rootfs_propagation = "rslave";
  } else if (mount.propagation == Propagation::kBidirectional) {
    prop = "rshared";
    *rootfs_propagation = "rshared";
  }
  return Bind(*dest, source, {"rbind", prop, mount.readonly ? "ro" : "rw"});
}

absl::Status AddDevice(const DeviceInput& device, oci::Linux* linux) {
  if (absl::Status s = ValidatePermissions(device.permissions, "devices.permissions"); !s.ok()) {
    return s;
  }
  absl::StatusOr<std::string> dest = CleanAbsolute(device.container_path, "devices.container_path");
  if (!dest.ok()) return dest.status();
  struct stat st;
  if (stat(device.host_path.c_str(), &st) != 0) {
    return ErrnoStatus(errno, absl::StrCat("devices.host_path ", device.host_path));
  }
  if (!S_ISDIR(st.st_mode)) {
    if (AddNode(device.host_path, *dest, device.permissions, linux)) return absl::OkStatus();
    return absl::InvalidArgumentError(
        absl::StrCat("devices.host_path: ", device.host_path, " is not a device node"));
  }
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(device.host_path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string rel = it->path().lexically_relative(device.host_path).string();
    AddNode(it->path().string(), absl::StrCat(*dest, "/", rel), device.permissions, linux);
  }
  if (ec) return ErrnoStatus(ec.value(), absl::StrCat("walk ", device.host_path));
  return absl::OkStatus();
}

absl::Status AddHostDevices(const std::string& dev_dir, oci::Linux* linux) {
  static constexpr absl::string_view kSkip[] = {"pts", "shm", "mqueue", "fd", ".lxc", ".udev"};
  std::error_code ec;
  auto it = std::filesystem::recursive_directory_iterator(dev_dir, ec);
  for (; !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (it->is_symlink(ec)) continue;
    if (it->is_directory(ec)) {
      if (std::find(std::begin(kSkip), std::end(kSkip), name) != std::end(kSkip)) {
        it.disable_recursion_pending();
      }
      continue;
    }
    if (name == "console") continue;
    std::string rel = it->path().lexically_relative(dev_dir).string();
    AddNode(it->path().string(), absl::StrCat("/dev/", rel), "rwm", linux);
  }
  if (ec) return ErrnoStatus(ec.value(), absl::StrCat("walk ", dev_dir));
  return absl::OkStatus();
}

}  // namespace peapod::cri::spec
