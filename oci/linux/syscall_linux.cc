// The real Syscall: each method is one system call with errno kept.
#include <grp.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/syscall.h"

namespace peapod::linux {
namespace {

class LinuxSyscall final : public Syscall {
 public:
  absl::Status Mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override {
    if (::mount(source.empty() ? nullptr : source.c_str(), target.c_str(),
                fstype.empty() ? nullptr : fstype.c_str(), flags,
                data.empty() ? nullptr : data.c_str()) != 0) {
      return ErrnoStatus(absl::StrCat("mount ", source.empty() ? fstype : source, " on ", target,
                                      " (flags 0x", absl::Hex(flags), ")"));
    }
    return absl::OkStatus();
  }
  absl::Status Umount(const std::string& target, int flags) override {
    if (::umount2(target.c_str(), flags) != 0) return ErrnoStatus("umount " + target);
    return absl::OkStatus();
  }
  absl::Status PivotRoot(const std::string& new_root, const std::string& put_old) override {
    if (::syscall(SYS_pivot_root, new_root.c_str(), put_old.c_str()) != 0) {
      return ErrnoStatus("pivot_root " + new_root);
    }
    return absl::OkStatus();
  }
  absl::Status Chroot(const std::string& path) override {
    if (::chroot(path.c_str()) != 0) return ErrnoStatus("chroot " + path);
    return absl::OkStatus();
  }
  absl::Status Chdir(const std::string& path) override {
    if (::chdir(path.c_str()) != 0) return ErrnoStatus("chdir " + path);
    return absl::OkStatus();
  }
  absl::Status Setns(int fd, int nstype) override {
    if (::setns(fd, nstype) != 0)
      return ErrnoStatus(absl::StrCat("setns type 0x", absl::Hex(nstype)));
    return absl::OkStatus();
  }
  absl::Status Unshare(int flags) override {
    if (::unshare(flags) != 0) return ErrnoStatus(absl::StrCat("unshare 0x", absl::Hex(flags)));
    return absl::OkStatus();
  }
  absl::Status Sethostname(absl::string_view name) override {
    if (::sethostname(name.data(), name.size()) != 0) return ErrnoStatus("sethostname");
    return absl::OkStatus();
  }
  absl::Status Setdomainname(absl::string_view name) override {
    if (::setdomainname(name.data(), name.size()) != 0) return ErrnoStatus("setdomainname");
    return absl::OkStatus();
  }
  absl::Status Setrlimit(int resource, uint64_t soft, uint64_t hard,
                         absl::string_view name) override {
    struct rlimit rl = {static_cast<rlim_t>(soft), static_cast<rlim_t>(hard)};
    if (::setrlimit(static_cast<__rlimit_resource>(resource), &rl) != 0) {
      int err = errno;
      if (err == EPERM) {
        return absl::PermissionDeniedError(
            absl::StrCat("setrlimit ", name, " (soft ", soft, ", hard ", hard,
                         "): raising a hard limit needs CAP_SYS_RESOURCE: ", std::strerror(err)));
      }
      return ErrnoStatus(err, absl::StrCat("setrlimit ", name));
    }
    return absl::OkStatus();
  }
  absl::Status Setgroups(const std::vector<gid_t>& gids) override {
    if (::setgroups(gids.size(), gids.data()) != 0) return ErrnoStatus("setgroups");
    return absl::OkStatus();
  }
  absl::Status Setgid(gid_t gid) override {
    if (::setresgid(gid, gid, gid) != 0) return ErrnoStatus(absl::StrCat("setresgid ", gid));
    return absl::OkStatus();
  }
  absl::Status Setuid(uid_t uid) override {
    if (::setresuid(uid, uid, uid) != 0) return ErrnoStatus(absl::StrCat("setresuid ", uid));
    return absl::OkStatus();
  }
  absl::Status Prctl(int option, unsigned long arg2, unsigned long arg3,
                     unsigned long arg4) override {
    if (::prctl(option, arg2, arg3, arg4, 0) != 0) {
      return ErrnoStatus(absl::StrCat("prctl ", option, " ", arg2));
    }
    return absl::OkStatus();
  }
  absl::Status Capset(const CapSets& sets) override {
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {};
    for (int i = 0; i < 2; ++i) {
      data[i].effective = static_cast<uint32_t>(sets.effective >> (32 * i));
      data[i].permitted = static_cast<uint32_t>(sets.permitted >> (32 * i));
      data[i].inheritable = static_cast<uint32_t>(sets.inheritable >> (32 * i));
    }
    if (::syscall(SYS_capset, &hdr, data) != 0) return ErrnoStatus("capset");
    return absl::OkStatus();
  }
  absl::Status Mknod(const std::string& path, mode_t mode, dev_t dev) override {
    if (::mknod(path.c_str(), mode, dev) != 0) return ErrnoStatus("mknod " + path);
    return absl::OkStatus();
  }
};

}  // namespace

Syscall& RealSyscall() {
  static LinuxSyscall* real = new LinuxSyscall();
  return *real;
}

}  // namespace peapod::linux
