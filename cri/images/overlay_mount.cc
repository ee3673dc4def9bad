// Container root filesystems: an overlay of an image's unpacked layers with
// a per-container upper and work directory.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "cri/images/image_store.h"

namespace peapod::images {
namespace {

absl::Status ValidateContainerId(const std::string& id) {
  bool ok = !id.empty() && id.size() <= 128 && id[0] != '.';
  for (char c : id) {
    ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                c == '-' || c == '_' || c == '.');
  }
  if (!ok) return absl::InvalidArgumentError("invalid container id \"" + id + "\"");
  return absl::OkStatus();
}

bool IsMountPoint(const std::string& path) {
  struct stat st, parent;
  if (stat(path.c_str(), &st) != 0 || stat((path + "/..").c_str(), &parent) != 0) return false;
  return st.st_dev != parent.st_dev;
}

// The new mount API takes each lower layer separately ("lowerdir+", Linux
// 6.8+), so the page-sized limit of mount(2)'s option string does not apply.
absl::Status MountWithFsconfig(const std::vector<std::string>& lowers, const std::string& upper,
                               const std::string& work, const std::string& target) {
  UniqueFd fs(fsopen("overlay", FSOPEN_CLOEXEC));
  if (!fs.valid()) return ErrnoStatus("fsopen overlay", errno);
  for (const std::string& dir : lowers) {
    if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "lowerdir+", dir.c_str(), 0) != 0) {
      return absl::UnimplementedError(absl::StrCat("overlay lowerdir+: ", strerror(errno)));
    }
  }
  if (fsconfig(fs.get(), FSCONFIG_SET_STRING, "upperdir", upper.c_str(), 0) != 0 ||
      fsconfig(fs.get(), FSCONFIG_SET_STRING, "workdir", work.c_str(), 0) != 0 ||
      fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return ErrnoStatus("configure overlay", errno);
  }
  UniqueFd mnt(fsmount(fs.get(), FSMOUNT_CLOEXEC, 0));
  if (!mnt.valid()) return ErrnoStatus("fsmount overlay", errno);
  if (move_mount(mnt.get(), "", AT_FDCWD, target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return ErrnoStatus("move_mount " + target, errno);
  }
  return absl::OkStatus();
}

// mount(2) with one option string, for kernels without "lowerdir+".
absl::Status MountLegacy(const std::vector<std::string>& lowers, const std::string& upper,
                         const std::string& work, const std::string& target) {
  std::string opts =
      absl::StrCat("lowerdir=", absl::StrJoin(lowers, ":"), ",upperdir=", upper, ",workdir=", work);
  if (opts.size() >= static_cast<size_t>(getpagesize())) {
    return absl::ResourceExhaustedError("too many layers for an overlay option string");
  }
  if (mount("overlay", target.c_str(), "overlay", 0, opts.c_str()) != 0) {
    return ErrnoStatus("mount overlay on " + target, errno);
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> ImageStore::Mount(const std::string& container_id,
                                              const std::string& image_ref) {
  if (absl::Status s = ValidateContainerId(container_id); !s.ok()) return s;
  std::string dir = root_ + "/containers/" + container_id;
  std::string rootfs = dir + "/rootfs";
  ImageRecord image;
  {
    // Under the records lock, so Remove sees the image as used.
    auto lock = FileLock::Acquire(root_ + "/locks/records.lock");
    if (!lock.ok()) return lock.status();
    auto found = Resolve(image_ref);
    if (!found.ok()) return found.status();
    image = *std::move(found);
    for (const char* sub : {"/upper", "/work", "/rootfs"}) {
      if (absl::Status s = MakeDirs(dir + sub, 0755); !s.ok()) return s;
    }
    // Not fsynced (no disk wait under the records lock): what it protects,
    // a container's image while the container exists, ends at reboot with
    // the container, whose leftovers peapodd removes at start.
    if (absl::Status s = WriteFileAtomic(dir + "/image", image.id, tmp_, false); !s.ok()) {
      return s;
    }
  }
  if (IsMountPoint(rootfs)) return rootfs;
  std::vector<std::string> lowers;  // top-most layer first
  for (auto it = image.chain_ids.rbegin(); it != image.chain_ids.rend(); ++it) {
    if (!HasLayer(*it)) return absl::DataLossError("layer " + *it + " of image missing");
    lowers.push_back(LayerDir(*it));
  }
  if (lowers.empty()) return absl::FailedPreconditionError("image has no layers");
  absl::Status s = MountWithFsconfig(lowers, dir + "/upper", dir + "/work", rootfs);
  if (absl::IsUnimplemented(s)) s = MountLegacy(lowers, dir + "/upper", dir + "/work", rootfs);
  if (!s.ok()) return s;
  return rootfs;
}

absl::Status ImageStore::Unmount(const std::string& container_id) {
  if (absl::Status s = ValidateContainerId(container_id); !s.ok()) return s;
  std::string dir = root_ + "/containers/" + container_id;
  if (access(dir.c_str(), F_OK) != 0) return absl::OkStatus();
  std::string rootfs = dir + "/rootfs";
  while (IsMountPoint(rootfs)) {
    if (umount2(rootfs.c_str(), MNT_DETACH) != 0) return ErrnoStatus("umount " + rootfs, errno);
  }
  return RemoveAll(dir);
}

}  // namespace peapod::images
