// Rootfs orchestration: checks, bind, mounts, pivot, masks.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/mount_options.h"
#include "oci/linux/path_resolve.h"
#include "oci/linux/rootfs.h"

namespace peapod::linux {

RootfsPlan PlanRootfs(const oci::Spec& spec, const std::string& rootfs, bool in_user_ns) {
  RootfsPlan plan;
  plan.rootfs = rootfs;
  plan.readonly = spec.root.readonly;
  plan.mounts = spec.mounts;
  plan.in_user_ns = in_user_ns;
  if (spec.linux) {
    plan.propagation = spec.linux->rootfs_propagation;
    plan.devices = spec.linux->devices;
  }
  return plan;
}

absl::Status CheckRootfs(const std::string& rootfs) {
  struct stat st;
  if (::stat(rootfs.c_str(), &st) != 0) return ErrnoStatus("rootfs " + rootfs);
  if (!S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(absl::StrCat("rootfs ", rootfs, " is not a directory"));
  }
  UniqueFd root(::open(rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoStatus("open rootfs " + rootfs);
  for (const char* p : {"dev", "proc", "dev/null"}) {
    struct stat ls;
    if (::fstatat(root.get(), p, &ls, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISLNK(ls.st_mode)) {
      char buf[4096];
      ssize_t n = ::readlinkat(root.get(), p, buf, sizeof buf - 1);
      std::string to = n > 0 ? std::string(buf, n) : "?";
      return absl::InvalidArgumentError(
          absl::StrCat("rootfs ", rootfs, ": /", p, " is a symlink (to ", to, "): refusing"));
    }
  }
  return absl::OkStatus();
}

absl::Status MountRootfs(Syscall& sys, const RootfsPlan& plan) {
  PEAPOD_ASSIGN_OR_RETURN(unsigned long prop, ParsePropagation(plan.propagation));
  // 1. Nothing we mount propagates back to the host.
  PEAPOD_RETURN_IF_ERROR(sys.Mount("", "/", "", MS_SLAVE | MS_REC, ""));
  // 2. The rootfs as a mount of its own (pivot_root needs one).
  PEAPOD_RETURN_IF_ERROR(sys.Mount(plan.rootfs, plan.rootfs, "", MS_BIND | MS_REC, ""));
  UniqueFd root(::open(plan.rootfs.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoStatus("open rootfs " + plan.rootfs);
  // 3. The spec's mounts, in order, each resolved inside the root.
  for (const oci::Mount& m : plan.mounts) {
    PEAPOD_RETURN_IF_ERROR(MountOne(sys, root.get(), plan, m));
  }
  // 4. Devices and the /dev links.
  PEAPOD_RETURN_IF_ERROR(CreateDevices(sys, root.get(), plan));
  // 5. rootfsPropagation on the root mount itself.
  if (prop != 0) PEAPOD_RETURN_IF_ERROR(sys.Mount("", plan.rootfs, "", prop, ""));
  return absl::OkStatus();
}

absl::Status EnterRootfs(Syscall& sys, const std::string& rootfs, bool no_pivot) {
  PEAPOD_RETURN_IF_ERROR(sys.Chdir(rootfs));
  if (no_pivot) {
    PEAPOD_RETURN_IF_ERROR(sys.Mount(rootfs, "/", "", MS_MOVE, ""));
    PEAPOD_RETURN_IF_ERROR(sys.Chroot("."));
    return sys.Chdir("/");
  }
  // pivot_root(".", "."): the old root ends up stacked on top of the new
  // one; detaching "." then removes it without needing a put_old dir.
  PEAPOD_RETURN_IF_ERROR(sys.PivotRoot(".", "."));
  // The old root must not propagate the unmount back to the host.
  PEAPOD_RETURN_IF_ERROR(sys.Mount("", ".", "", MS_SLAVE | MS_REC, ""));
  PEAPOD_RETURN_IF_ERROR(sys.Umount(".", MNT_DETACH));
  return sys.Chdir("/");
}

namespace {

absl::Status MaskPath(Syscall& sys, int root_fd, const std::string& path) {
  absl::StatusOr<UniqueFd> fd = OpenInRoot(root_fd, path, O_PATH);
  if (!fd.ok()) {
    if (absl::IsNotFound(fd.status())) return absl::OkStatus();
    return fd.status();
  }
  struct stat st;
  if (::fstat(fd->get(), &st) != 0) return ErrnoStatus("stat " + path);
  if (S_ISDIR(st.st_mode)) {
    return Annotate(sys.Mount("tmpfs", FdPath(fd->get()), "tmpfs", MS_RDONLY, "size=0k"),
                    "mask " + path);
  }
  return Annotate(sys.Mount("/dev/null", FdPath(fd->get()), "", MS_BIND, ""), "mask " + path);
}

// "/" remounted read-only keeping the flags it already has.
absl::Status RemountRootReadonly(Syscall& sys) {
  struct statvfs sv;
  unsigned long keep = 0;
  if (::statvfs("/", &sv) == 0) {
    if (sv.f_flag & ST_NOSUID) keep |= MS_NOSUID;
    if (sv.f_flag & ST_NODEV) keep |= MS_NODEV;
    if (sv.f_flag & ST_NOEXEC) keep |= MS_NOEXEC;
  }
  return Annotate(sys.Mount("", "/", "", MS_BIND | MS_REMOUNT | MS_RDONLY | keep, ""),
                  "read-only root");
}

}  // namespace

absl::Status FinishRootfs(Syscall& sys, const oci::Spec& spec) {
  UniqueFd root(::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (!root) return ErrnoStatus("open /");
  if (spec.linux) {
    for (const std::string& p : spec.linux->readonly_paths) {
      absl::Status st = MakeReadonly(sys, root.get(), p);
      if (!st.ok() && !absl::IsNotFound(st)) return Annotate(st, "readonly path " + p);
    }
    for (const std::string& p : spec.linux->masked_paths) {
      PEAPOD_RETURN_IF_ERROR(MaskPath(sys, root.get(), p));
    }
  }
  if (spec.root.readonly) PEAPOD_RETURN_IF_ERROR(RemountRootReadonly(sys));
  return absl::OkStatus();
}

}  // namespace peapod::linux
