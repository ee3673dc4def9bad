// The seam in front of the kernel (youki's Syscall trait): the calls that
// change a process's mounts, namespaces, identity and limits go through this
// interface, so unit tests can pass a recording fake and check what would be
// called. The real implementation is stateless; get it with RealSyscall().
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"

namespace peapod::linux {

// The three capability sets capset(2) takes, as 64-bit masks.
struct CapSets {
  uint64_t effective = 0, permitted = 0, inheritable = 0;
};

class Syscall {
 public:
  virtual ~Syscall() = default;
  // mount(2). Errors name the target.
  virtual absl::Status Mount(const std::string& source, const std::string& target,
                             const std::string& fstype, unsigned long flags,
                             const std::string& data) = 0;
  // umount2(2).
  virtual absl::Status Umount(const std::string& target, int flags) = 0;
  // pivot_root(2).
  virtual absl::Status PivotRoot(const std::string& new_root, const std::string& put_old) = 0;
  // chroot(2).
  virtual absl::Status Chroot(const std::string& path) = 0;
  // chdir(2).
  virtual absl::Status Chdir(const std::string& path) = 0;
  // setns(2) on an open namespace fd.
  virtual absl::Status Setns(int fd, int nstype) = 0;
  // unshare(2).
  virtual absl::Status Unshare(int flags) = 0;
  // sethostname(2).
  virtual absl::Status Sethostname(absl::string_view name) = 0;
  // setdomainname(2).
  virtual absl::Status Setdomainname(absl::string_view name) = 0;
  // setrlimit(2); `name` (RLIMIT_NOFILE) is used in errors.
  virtual absl::Status Setrlimit(int resource, uint64_t soft, uint64_t hard,
                                 absl::string_view name) = 0;
  // setgroups(2).
  virtual absl::Status Setgroups(const std::vector<gid_t>& gids) = 0;
  // setresgid(gid, gid, gid).
  virtual absl::Status Setgid(gid_t gid) = 0;
  // setresuid(uid, uid, uid).
  virtual absl::Status Setuid(uid_t uid) = 0;
  // prctl(2) with up to three further arguments.
  virtual absl::Status Prctl(int option, unsigned long arg2, unsigned long arg3 = 0,
                             unsigned long arg4 = 0) = 0;
  // capset(2) of the calling thread (version 3).
  virtual absl::Status Capset(const CapSets& sets) = 0;
  // mknod(2).
  virtual absl::Status Mknod(const std::string& path, mode_t mode, dev_t dev) = 0;
};

// The process-wide real implementation.
Syscall& RealSyscall();

}  // namespace peapod::linux
