// Device nodes and /dev links inside the rootfs.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/path_resolve.h"
#include "oci/linux/rootfs.h"

namespace peapod::linux {
namespace {

struct DefaultDevice {
  const char* path;
  int major, minor;
};

constexpr DefaultDevice kDefaultDevices[] = {
    {"/dev/null", 1, 3},   {"/dev/zero", 1, 5},    {"/dev/full", 1, 7},
    {"/dev/random", 1, 8}, {"/dev/urandom", 1, 9}, {"/dev/tty", 5, 0},
};

constexpr std::pair<const char*, const char*> kDevLinks[] = {
    {"/dev/fd", "/proc/self/fd"},       {"/dev/stdin", "/proc/self/fd/0"},
    {"/dev/stdout", "/proc/self/fd/1"}, {"/dev/stderr", "/proc/self/fd/2"},
    {"/dev/ptmx", "pts/ptmx"},
};

absl::StatusOr<mode_t> DeviceType(const std::string& type) {
  if (type == "c" || type == "u") return S_IFCHR;
  if (type == "b") return S_IFBLK;
  if (type == "p") return S_IFIFO;
  return absl::InvalidArgumentError(absl::StrCat("unknown device type \"", type, "\""));
}

// Creates one device at dev.path: mknod, or inside a user namespace (where
// mknod is not allowed) a bind mount of the host's node.
absl::Status CreateDevice(Syscall& sys, int root_fd, const oci::Device& dev, bool bind) {
  if (dev.path.empty() || dev.path[0] != '/') {
    return absl::InvalidArgumentError(absl::StrCat("device path \"", dev.path, "\" not absolute"));
  }
  PEAPOD_ASSIGN_OR_RETURN(mode_t type, DeviceType(dev.type));
  auto [parent, name] = SplitLast(dev.path);
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd dir, MkdirAllInRoot(root_fd, parent, 0755));
  if (bind) {
    PEAPOD_ASSIGN_OR_RETURN(UniqueFd target, CreateFileInRoot(root_fd, dev.path, 0644));
    return Annotate(sys.Mount(dev.path, FdPath(target.get()), "", MS_BIND, ""),
                    "bind device " + dev.path);
  }
  // A stale node (from the image) is replaced.
  ::unlinkat(dir.get(), name.c_str(), 0);
  mode_t mode = type | (dev.file_mode ? (*dev.file_mode & 07777) : 0666);
  std::string at = absl::StrCat(FdPath(dir.get()), "/", name);
  PEAPOD_RETURN_IF_ERROR(Annotate(
      sys.Mknod(at, mode,
                makedev(static_cast<unsigned>(dev.major), static_cast<unsigned>(dev.minor))),
      "device " + dev.path));
  // mknod honours the umask: set the mode exactly, then the owner.
  if (::fchmodat(dir.get(), name.c_str(), mode & 07777, 0) != 0) {
    return ErrnoStatus("chmod device " + dev.path);
  }
  if (::fchownat(dir.get(), name.c_str(), dev.uid.value_or(0), dev.gid.value_or(0),
                 AT_SYMLINK_NOFOLLOW) != 0) {
    return ErrnoStatus("chown device " + dev.path);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CreateDevices(Syscall& sys, int root_fd, const RootfsPlan& plan) {
  std::vector<oci::Device> all;
  for (const DefaultDevice& d : kDefaultDevices) {
    oci::Device dev;
    dev.type = "c";
    dev.path = d.path;
    dev.major = d.major;
    dev.minor = d.minor;
    dev.file_mode = 0666;
    all.push_back(dev);
  }
  for (const oci::Device& d : plan.devices) {
    // A configured device overrides a default one of the same path.
    std::erase_if(all, [&](const oci::Device& x) { return x.path == d.path; });
    all.push_back(d);
  }
  for (const oci::Device& d : all) {
    PEAPOD_RETURN_IF_ERROR(CreateDevice(sys, root_fd, d, plan.in_user_ns));
  }
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd dev, MkdirAllInRoot(root_fd, "/dev", 0755));
  for (const auto& [link, to] : kDevLinks) {
    std::string name = SplitLast(link).second;
    if (::symlinkat(to, dev.get(), name.c_str()) != 0 && errno != EEXIST) {
      return ErrnoStatus(absl::StrCat("symlink ", link));
    }
  }
  return absl::OkStatus();
}

}  // namespace peapod::linux
