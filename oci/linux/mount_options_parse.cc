// Mount option parsing.
#include <sys/mount.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "oci/linux/mount_options.h"

namespace peapod::linux {
namespace {

struct FlagOption {
  const char* name;
  bool clear;
  unsigned long flag;
};

constexpr FlagOption kFlagOptions[] = {
    {"defaults", false, 0},
    {"ro", false, MS_RDONLY},
    {"rw", true, MS_RDONLY},
    {"nosuid", false, MS_NOSUID},
    {"suid", true, MS_NOSUID},
    {"nodev", false, MS_NODEV},
    {"dev", true, MS_NODEV},
    {"noexec", false, MS_NOEXEC},
    {"exec", true, MS_NOEXEC},
    {"sync", false, MS_SYNCHRONOUS},
    {"async", true, MS_SYNCHRONOUS},
    {"dirsync", false, MS_DIRSYNC},
    {"remount", false, MS_REMOUNT},
    {"mand", false, MS_MANDLOCK},
    {"nomand", true, MS_MANDLOCK},
    {"noatime", false, MS_NOATIME},
    {"atime", true, MS_NOATIME},
    {"nodiratime", false, MS_NODIRATIME},
    {"diratime", true, MS_NODIRATIME},
    {"relatime", false, MS_RELATIME},
    {"norelatime", true, MS_RELATIME},
    {"strictatime", false, MS_STRICTATIME},
    {"nostrictatime", true, MS_STRICTATIME},
};

struct PropOption {
  const char* name;
  unsigned long flags;
};

constexpr PropOption kPropOptions[] = {
    {"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
    {"shared", MS_SHARED},         {"rshared", MS_SHARED | MS_REC},
    {"slave", MS_SLAVE},           {"rslave", MS_SLAVE | MS_REC},
    {"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
};

// Options runc accepts that need nothing from mount(2) here.
constexpr const char* kIgnored[] = {"tmpcopyup", "nosymfollow", "rro", "rrw"};

}  // namespace

absl::StatusOr<unsigned long> ParsePropagation(const std::string& name) {
  if (name.empty()) return 0;
  for (const PropOption& p : kPropOptions) {
    if (name == p.name) return p.flags;
  }
  return absl::InvalidArgumentError(absl::StrCat("unknown propagation \"", name, "\""));
}

absl::StatusOr<MountOptions> ParseMountOptions(const std::vector<std::string>& options) {
  MountOptions out;
  std::vector<std::string> data;
  for (const std::string& opt : options) {
    bool done = false;
    for (const FlagOption& f : kFlagOptions) {
      if (opt == f.name) {
        if (f.clear) {
          out.flags &= ~f.flag;
        } else {
          out.flags |= f.flag;
        }
        done = true;
        break;
      }
    }
    if (done) continue;
    if (opt == "bind" || opt == "rbind") {
      out.bind = true;
      out.recursive = out.recursive || opt == "rbind";
      continue;
    }
    for (const PropOption& p : kPropOptions) {
      if (opt == p.name) {
        out.propagation = p.flags;
        done = true;
        break;
      }
    }
    for (const char* ign : kIgnored) done = done || opt == ign;
    if (done) continue;
    if (opt == "idmap" || opt == "ridmap") {
      return absl::UnimplementedError(absl::StrCat("mount option \"", opt, "\" not supported"));
    }
    if (opt.empty() || opt.find_first_of("\n\r") != std::string::npos) {
      return absl::InvalidArgumentError(absl::StrCat("bad mount option \"", opt, "\""));
    }
    data.push_back(opt);
  }
  out.data = absl::StrJoin(data, ",");
  return out;
}

unsigned long BindRemountFlags(const MountOptions& opts) {
  return opts.flags & ~(MS_BIND | MS_REC | MS_REMOUNT);
}

}  // namespace peapod::linux
