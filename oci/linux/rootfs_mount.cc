// Spec mounts inside the rootfs.
#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/mount_options.h"
#include "oci/linux/path_resolve.h"
#include "oci/linux/rootfs.h"

namespace peapod::linux {
namespace {

// Flags a remount of a bind must keep because the kernel locks them
// (mounts inherited into a user namespace).
unsigned long LockedFlags(const std::string& path) {
  struct statvfs sv;
  if (::statvfs(path.c_str(), &sv) != 0) return 0;
  unsigned long out = 0;
  if (sv.f_flag & ST_NOSUID) out |= MS_NOSUID;
  if (sv.f_flag & ST_NODEV) out |= MS_NODEV;
  if (sv.f_flag & ST_NOEXEC) out |= MS_NOEXEC;
  if (sv.f_flag & ST_RDONLY) out |= MS_RDONLY;
  if (sv.f_flag & ST_NOATIME) out |= MS_NOATIME;
  if (sv.f_flag & ST_NODIRATIME) out |= MS_NODIRATIME;
  if (sv.f_flag & ST_RELATIME) out |= MS_RELATIME;
  return out;
}

// Remounts the bind mount now at `path` (inside root) with `flags`.
absl::Status RemountBind(Syscall& sys, int root_fd, const std::string& path, unsigned long flags) {
  // Reopen: the fd used for the bind points below the new mount.
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(root_fd, path, O_PATH));
  std::string target = FdPath(fd.get());
  absl::Status st = sys.Mount("", target, "", MS_BIND | MS_REMOUNT | flags, "");
  if (absl::IsPermissionDenied(st)) {
    st = sys.Mount("", target, "", MS_BIND | MS_REMOUNT | flags | LockedFlags(target), "");
  }
  return st;
}

absl::Status SetPropagation(Syscall& sys, int root_fd, const std::string& path,
                            unsigned long prop) {
  if (prop == 0) return absl::OkStatus();
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(root_fd, path, O_PATH));
  return sys.Mount("", FdPath(fd.get()), "", prop, "");
}

// The target of a mount: a directory, or for a bind of a non-directory an
// empty file.
absl::StatusOr<UniqueFd> MakeTarget(int root_fd, const oci::Mount& m, bool bind) {
  if (bind) {
    struct stat st;
    if (::stat(m.source.c_str(), &st) != 0) {
      return ErrnoStatus(absl::StrCat("mount ", m.destination, ": source ", m.source));
    }
    if (!S_ISDIR(st.st_mode)) return CreateFileInRoot(root_fd, m.destination, 0644);
  }
  return MkdirAllInRoot(root_fd, m.destination, 0755);
}

absl::Status MountCgroup(Syscall& sys, int root_fd, const RootfsPlan& plan, const oci::Mount& m,
                         const MountOptions& opts);

}  // namespace

std::vector<CgroupEntry> ParseProcCgroup(const std::string& text) {
  std::vector<CgroupEntry> out;
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> f = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (f.size() != 3) continue;
    out.push_back(CgroupEntry{std::string(f[1]), std::string(f[2])});
  }
  return out;
}

absl::Status MountOne(Syscall& sys, int root_fd, const RootfsPlan& plan, const oci::Mount& m) {
  if (m.destination.empty() || m.destination[0] != '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("mount destination \"", m.destination, "\" is not absolute"));
  }
  PEAPOD_ASSIGN_OR_RETURN(MountOptions opts, ParseMountOptions(m.options));
  bool bind = opts.bind || m.type == "bind";
  if (m.type == "cgroup" || m.type == "cgroup2") {
    return MountCgroup(sys, root_fd, plan, m, opts);
  }
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd target, MakeTarget(root_fd, m, bind));
  std::string where = FdPath(target.get());
  if (bind) {
    unsigned long flags = MS_BIND | (opts.recursive ? MS_REC : 0);
    PEAPOD_RETURN_IF_ERROR(
        Annotate(sys.Mount(m.source, where, "", flags, ""), absl::StrCat("mount ", m.destination)));
    // A bind ignores every other flag: ro, nosuid, ... need a remount.
    if (unsigned long extra = BindRemountFlags(opts); extra != 0) {
      PEAPOD_RETURN_IF_ERROR(Annotate(RemountBind(sys, root_fd, m.destination, extra),
                                      absl::StrCat("remount ", m.destination)));
    }
  } else {
    PEAPOD_RETURN_IF_ERROR(Annotate(
        sys.Mount(m.source.empty() ? m.type : m.source, where, m.type, opts.flags, opts.data),
        absl::StrCat("mount ", m.destination)));
  }
  return Annotate(SetPropagation(sys, root_fd, m.destination, opts.propagation),
                  absl::StrCat("propagation of ", m.destination));
}

namespace {

// On a cgroup v1 (or hybrid) host: a tmpfs at the destination holding, per
// hierarchy, a bind of the container's OWN cgroup directory (what runc
// does), read-only when the mount is "ro". On a cgroup2-only host: a bind
// of the container's cgroup2 directory. The host's other cgroups are never
// visible.
absl::Status MountCgroup(Syscall& sys, int root_fd, const RootfsPlan& plan, const oci::Mount& m,
                         const MountOptions& opts) {
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd target, MkdirAllInRoot(root_fd, m.destination, 0755));
  bool v2_only = plan.cgroups.size() == 1 && plan.cgroups[0].controllers.empty();
  unsigned long bind_extra = opts.flags & (MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC);
  if (v2_only) {
    std::string src = plan.cgroup_root + plan.cgroups[0].path;
    PEAPOD_RETURN_IF_ERROR(sys.Mount(src, FdPath(target.get()), "", MS_BIND, ""));
    if (bind_extra) PEAPOD_RETURN_IF_ERROR(RemountBind(sys, root_fd, m.destination, bind_extra));
    return absl::OkStatus();
  }
  PEAPOD_RETURN_IF_ERROR(sys.Mount("tmpfs", FdPath(target.get()), "tmpfs",
                                   MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=755"));
  for (const CgroupEntry& e : plan.cgroups) {
    std::string dir = e.controllers;
    if (dir.empty()) dir = "unified";
    if (dir.rfind("name=", 0) == 0) dir = dir.substr(5);
    std::string host = absl::StrCat(plan.cgroup_root, "/", dir);
    struct stat st;
    if (::stat(host.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) continue;
    std::string inside = absl::StrCat(m.destination, "/", dir);
    PEAPOD_ASSIGN_OR_RETURN(UniqueFd sub, MkdirAllInRoot(root_fd, inside, 0755));
    PEAPOD_RETURN_IF_ERROR(sys.Mount(host + e.path, FdPath(sub.get()), "", MS_BIND, ""));
    PEAPOD_RETURN_IF_ERROR(
        RemountBind(sys, root_fd, inside, bind_extra | MS_NOSUID | MS_NODEV | MS_NOEXEC));
    // "cpu,cpuacct" is also reachable as "cpu" and "cpuacct".
    if (dir.find(',') != std::string::npos) {
      PEAPOD_ASSIGN_OR_RETURN(UniqueFd parent, OpenInRoot(root_fd, m.destination, O_PATH));
      for (absl::string_view c : absl::StrSplit(dir, ',')) {
        std::string name(c);
        if (::symlinkat(dir.c_str(), parent.get(), name.c_str()) != 0 && errno != EEXIST) {
          return ErrnoStatus(absl::StrCat("symlink ", m.destination, "/", name));
        }
      }
    }
  }
  if (bind_extra & MS_RDONLY) {
    PEAPOD_ASSIGN_OR_RETURN(UniqueFd again, OpenInRoot(root_fd, m.destination, O_PATH));
    PEAPOD_RETURN_IF_ERROR(sys.Mount("", FdPath(again.get()), "",
                                     MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                                     "mode=755"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status MakeReadonly(Syscall& sys, int root_fd, const std::string& path) {
  PEAPOD_ASSIGN_OR_RETURN(UniqueFd fd, OpenInRoot(root_fd, path, O_PATH));
  PEAPOD_RETURN_IF_ERROR(sys.Mount(FdPath(fd.get()), FdPath(fd.get()), "", MS_BIND | MS_REC, ""));
  return RemountBind(sys, root_fd, path, MS_RDONLY | MS_REC);
}

}  // namespace peapod::linux
