#include "shim/rootfs.h"

#include <errno.h>
#include <string.h>
#include <sys/mount.h>

#include <map>

#include "absl/strings/str_cat.h"

namespace peapod::shim {
namespace {

struct Flag {
  bool clear;
  unsigned long flag;
};

const std::map<std::string, Flag>& Flags() {
  static const auto* m = new std::map<std::string, Flag>{
      {"ro", {false, MS_RDONLY}},
      {"rw", {true, MS_RDONLY}},
      {"bind", {false, MS_BIND}},
      {"rbind", {false, MS_BIND | MS_REC}},
      {"nosuid", {false, MS_NOSUID}},
      {"suid", {true, MS_NOSUID}},
      {"nodev", {false, MS_NODEV}},
      {"dev", {true, MS_NODEV}},
      {"noexec", {false, MS_NOEXEC}},
      {"exec", {true, MS_NOEXEC}},
      {"sync", {false, MS_SYNCHRONOUS}},
      {"async", {true, MS_SYNCHRONOUS}},
      {"remount", {false, MS_REMOUNT}},
      {"noatime", {false, MS_NOATIME}},
      {"atime", {true, MS_NOATIME}},
      {"relatime", {false, MS_RELATIME}},
      {"norelatime", {true, MS_RELATIME}},
      {"strictatime", {false, MS_STRICTATIME}},
      {"nodiratime", {false, MS_NODIRATIME}},
      {"diratime", {true, MS_NODIRATIME}},
      {"defaults", {false, 0}},
  };
  return *m;
}

const std::map<std::string, unsigned long>& Propagations() {
  static const auto* m = new std::map<std::string, unsigned long>{
      {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
      {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
      {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
      {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
  };
  return *m;
}

}  // namespace

void ParseMountOptions(const std::vector<std::string>& options, unsigned long* flags,
                       unsigned long* propagation, std::string* data) {
  *flags = 0;
  *propagation = 0;
  data->clear();
  for (const std::string& o : options) {
    if (auto f = Flags().find(o); f != Flags().end()) {
      if (f->second.clear) {
        *flags &= ~f->second.flag;
      } else {
        *flags |= f->second.flag;
      }
    } else if (auto p = Propagations().find(o); p != Propagations().end()) {
      *propagation |= p->second;
    } else {
      if (!data->empty()) data->push_back(',');
      data->append(o);
    }
  }
}

absl::Status MountRootfs(const std::vector<MountSpec>& mounts, const std::string& target) {
  int mounted = 0;
  for (const MountSpec& m : mounts) {
    unsigned long flags, propagation;
    std::string data;
    ParseMountOptions(m.options, &flags, &propagation, &data);
    const char* type = m.type == "bind" ? nullptr : m.type.c_str();
    absl::Status err;
    const unsigned long first = type ? flags : (flags & ~MS_RDONLY);
    if (mount(m.source.c_str(), target.c_str(), type, first,
              data.empty() ? nullptr : data.c_str()) != 0) {
      err = absl::InternalError(
          absl::StrCat("mount ", m.type, " ", m.source, " on ", target, ": ", strerror(errno)));
    } else {
      ++mounted;
      // A bind mount takes MS_RDONLY only on a remount.
      if ((flags & MS_BIND) && (flags & MS_RDONLY) &&
          mount("", target.c_str(), nullptr, flags | MS_REMOUNT, nullptr) != 0) {
        err = absl::InternalError(absl::StrCat("remount ro ", target, ": ", strerror(errno)));
      } else if (propagation != 0 &&
                 mount("", target.c_str(), nullptr, propagation, nullptr) != 0) {
        err = absl::InternalError(absl::StrCat("propagation ", target, ": ", strerror(errno)));
      }
    }
    if (!err.ok()) {
      for (int i = 0; i < mounted; ++i) umount2(target.c_str(), MNT_DETACH);
      return err;
    }
  }
  return absl::OkStatus();
}

absl::Status UnmountRootfs(const std::string& target) {
  for (int i = 0; i < 64; ++i) {
    if (umount2(target.c_str(), MNT_DETACH) != 0) {
      if (errno == EINVAL || errno == ENOENT) return absl::OkStatus();  // nothing (more) mounted
      return absl::InternalError(absl::StrCat("unmount ", target, ": ", strerror(errno)));
    }
  }
  return absl::InternalError(absl::StrCat("unmount ", target, ": too many stacked mounts"));
}

}  // namespace peapod::shim
