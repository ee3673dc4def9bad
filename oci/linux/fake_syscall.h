// A recording Syscall for unit tests: every call is appended to calls() as
// one readable line ("mount src dst type 0xflags data") and succeeds, unless
// a failure is queued for a call whose line starts with a given prefix.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "oci/linux/syscall.h"

namespace peapod::linux {

class FakeSyscall : public Syscall {
 public:
  const std::vector<std::string>& calls() const { return calls_; }
  // Calls whose line starts with `prefix` fail with `status`.
  void FailOn(std::string prefix, absl::Status status) {
    failures_.emplace(std::move(prefix), std::move(status));
  }

  absl::Status Mount(const std::string& source, const std::string& target,
                     const std::string& fstype, unsigned long flags,
                     const std::string& data) override {
    return Record(absl::StrCat("mount ", source, " ", target, " ", fstype, " 0x", absl::Hex(flags),
                               " ", data));
  }
  absl::Status Umount(const std::string& target, int flags) override {
    return Record(absl::StrCat("umount ", target, " ", flags));
  }
  absl::Status PivotRoot(const std::string& n, const std::string& o) override {
    return Record(absl::StrCat("pivot_root ", n, " ", o));
  }
  absl::Status Chroot(const std::string& p) override { return Record("chroot " + p); }
  absl::Status Chdir(const std::string& p) override { return Record("chdir " + p); }
  absl::Status Setns(int, int nstype) override {
    return Record(absl::StrCat("setns 0x", absl::Hex(nstype)));
  }
  absl::Status Unshare(int flags) override {
    return Record(absl::StrCat("unshare 0x", absl::Hex(flags)));
  }
  absl::Status Sethostname(absl::string_view n) override {
    return Record(absl::StrCat("sethostname ", n));
  }
  absl::Status Setdomainname(absl::string_view n) override {
    return Record(absl::StrCat("setdomainname ", n));
  }
  absl::Status Setrlimit(int resource, uint64_t soft, uint64_t hard,
                         absl::string_view name) override {
    return Record(absl::StrCat("setrlimit ", name, "(", resource, ") ", soft, " ", hard));
  }
  absl::Status Setgroups(const std::vector<gid_t>& gids) override {
    return Record(absl::StrCat("setgroups ", absl::StrJoin(gids, ",")));
  }
  absl::Status Setgid(gid_t gid) override { return Record(absl::StrCat("setgid ", gid)); }
  absl::Status Setuid(uid_t uid) override { return Record(absl::StrCat("setuid ", uid)); }
  absl::Status Prctl(int option, unsigned long a2, unsigned long a3, unsigned long) override {
    return Record(absl::StrCat("prctl ", option, " ", a2, " ", a3));
  }
  absl::Status Capset(const CapSets& s) override {
    return Record(absl::StrCat("capset e=0x", absl::Hex(s.effective), " p=0x",
                               absl::Hex(s.permitted), " i=0x", absl::Hex(s.inheritable)));
  }
  absl::Status Mknod(const std::string& path, mode_t mode, dev_t dev) override {
    return Record(absl::StrCat("mknod ", path, " 0", absl::Hex(mode), " ", dev));
  }

 private:
  absl::Status Record(std::string line) {
    calls_.push_back(line);
    for (const auto& [prefix, st] : failures_) {
      if (line.rfind(prefix, 0) == 0) return st;
    }
    return absl::OkStatus();
  }
  std::vector<std::string> calls_;
  std::multimap<std::string, absl::Status> failures_;
};

}  // namespace peapod::linux
