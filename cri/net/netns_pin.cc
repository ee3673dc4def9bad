// Pinning: a short-lived thread unshares its network namespace, brings lo
// up and bind-mounts /proc/thread-self/ns/net on the pin file. Only that
// thread ever changes namespace, so peapodd's other threads are unaffected.
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <thread>

#include "cri/net/netns.h"
#include "cri/util/str.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/unique_fd.h"

namespace peapod::cri {
namespace {

using linux::ErrnoStatus;
using linux::UniqueFd;

absl::Status MkdirAll(const std::string& dir) {
  std::string cur;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = dir.find('/', pos + 1);
    cur = dir.substr(0, pos);
    if (cur.empty()) continue;
    if (::mkdir(cur.c_str(), 0711) != 0 && errno != EEXIST) {
      return ErrnoStatus(Cat("mkdir ", cur));
    }
  }
  return absl::OkStatus();
}

absl::Status LoopbackUp() {
  UniqueFd s(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (!s) return ErrnoStatus("socket for lo");
  struct ifreq ifr;
  std::memset(&ifr, 0, sizeof ifr);
  std::strncpy(ifr.ifr_name, "lo", IFNAMSIZ - 1);
  if (::ioctl(s.get(), SIOCGIFFLAGS, &ifr) != 0) return ErrnoStatus("get flags of lo");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (::ioctl(s.get(), SIOCSIFFLAGS, &ifr) != 0) return ErrnoStatus("bring lo up");
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<PinnedNetns> PinnedNetns::Create(const std::string& dir, const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return absl::InvalidArgumentError(Cat("invalid network namespace name \"", name, "\""));
  }
  PEAPOD_RETURN_IF_ERROR(MkdirAll(dir));
  std::string path = Cat(dir, "/", name);
  {
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!f) return ErrnoStatus(Cat("create network namespace file ", path));
  }
  PinnedNetns pinned(path);  // removes the file if anything below fails
  absl::Status st;
  std::thread t([&] {
    if (::unshare(CLONE_NEWNET) != 0) {
      st = ErrnoStatus("unshare network namespace");
      return;
    }
    st = LoopbackUp();
    if (!st.ok()) return;
    if (::mount("/proc/thread-self/ns/net", path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
      st = ErrnoStatus(Cat("bind-mount network namespace on ", path));
    }
  });
  t.join();
  if (!st.ok()) return st;
  return pinned;
}

absl::StatusOr<PinnedNetns> PinnedNetns::Pin(const std::string& source, const std::string& dir,
                                             const std::string& name) {
  if (name.empty() || name.find('/') != std::string::npos || name == "." || name == "..") {
    return absl::InvalidArgumentError(Cat("invalid network namespace name \"", name, "\""));
  }
  PEAPOD_RETURN_IF_ERROR(MkdirAll(dir));
  std::string path = Cat(dir, "/", name);
  {
    UniqueFd f(::open(path.c_str(), O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0444));
    if (!f) return ErrnoStatus(Cat("create network namespace file ", path));
  }
  PinnedNetns pinned(path);
  if (::mount(source.c_str(), path.c_str(), nullptr, MS_BIND, nullptr) != 0) {
    return ErrnoStatus(Cat("bind-mount network namespace ", source, " on ", path));
  }
  return pinned;
}

absl::Status BringLoopbackUp(const std::string& netns_path) {
  return RunInNetns(netns_path, [] { return LoopbackUp(); });
}

PinnedNetns& PinnedNetns::operator=(PinnedNetns&& o) noexcept {
  if (this != &o) {
    if (!path_.empty()) (void)RemovePinnedNetns(path_);
    path_ = std::move(o.path_);
    o.path_.clear();
  }
  return *this;
}

PinnedNetns::~PinnedNetns() {
  if (!path_.empty()) (void)RemovePinnedNetns(path_);
}

std::string PinnedNetns::Release() {
  std::string p = std::move(path_);
  path_.clear();
  return p;
}

absl::Status PinnedNetns::Remove() {
  std::string p = Release();
  return p.empty() ? absl::OkStatus() : RemovePinnedNetns(p);
}

absl::Status RemovePinnedNetns(const std::string& path) {
  // EINVAL: not a mount point (never pinned, or already unmounted).
  if (::umount2(path.c_str(), MNT_DETACH) != 0 && errno != EINVAL && errno != ENOENT) {
    return ErrnoStatus(Cat("unmount network namespace ", path));
  }
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus(Cat("remove network namespace file ", path));
  }
  return absl::OkStatus();
}

absl::Status RunInNetns(const std::string& netns_path, const std::function<absl::Status()>& fn) {
  UniqueFd ns(::open(netns_path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!ns) return ErrnoStatus(Cat("open network namespace ", netns_path));
  absl::Status st;
  std::thread t([&] {
    if (::setns(ns.get(), CLONE_NEWNET) != 0) {
      st = ErrnoStatus(Cat("join network namespace ", netns_path));
      return;
    }
    st = fn();
  });
  t.join();
  return st;
}

}  // namespace peapod::cri
