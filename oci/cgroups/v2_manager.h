// cgroup v2 manager: one directory <mountpoint><path> in the unified
// hierarchy. Also drives the controller-less cgroup2 mount of a hybrid host,
// where only cgroup.procs, cgroup.freeze, cgroup.kill and cgroup.events work.
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "oci/cgroups/manager.h"

namespace peapod::cgroups {

class V2Manager : public Manager {
 public:
  V2Manager(std::string mountpoint, std::string path);

  Mode mode() const override { return Mode::kUnified; }
  std::map<std::string, std::string> Paths() const override { return {{"unified", dir_}}; }
  absl::Status Create() override;
  absl::Status CreateV2() override { return Create(); }
  absl::StatusOr<int> OpenV2Dir() const override;
  absl::Status Apply(pid_t pid) override;
  absl::Status Set(const oci::Resources& resources) override;
  absl::StatusOr<Stats> GetStats() override;
  absl::Status Freeze() override;
  absl::Status Thaw() override;
  absl::StatusOr<FreezerState> GetFreezerState() override;
  absl::StatusOr<std::vector<pid_t>> Pids() override;
  absl::StatusOr<uint64_t> OomKillCount() override;
  absl::Status Destroy(bool kill) override;
  bool Exists() const override;
  // Uses cgroup.kill where the kernel has it.
  absl::Status KillAll() override;
  // The directory, for CLONE_INTO_CGROUP.
  absl::StatusOr<JoinHandles> OpenJoinHandles() const override;
  // Writes cgroup.kill (SIGKILL to every task below) without waiting;
  // Unimplemented on kernels before 5.14.
  absl::Status SendKill();
  // Waits up to 5s for cgroup.events "populated 0".
  absl::Status WaitEmpty();

  // Writes linux.resources.unified after checking every key; a key whose
  // controller is not enabled here is FailedPrecondition naming it.
  absl::Status SetUnified(const std::map<std::string, std::string>& unified);
  // The container's cgroup directory.
  const std::string& dir() const { return dir_; }

 private:
  // FailedPrecondition naming `what` unless `controller` is enabled for the
  // container's cgroup.
  absl::Status NeedController(absl::string_view controller, absl::string_view what) const;
  // Enables every available controller in the subtree_control of each
  // ancestor of the container's cgroup.
  void EnableControllers() const;
  // Writes cgroup.freeze and waits for cgroup.events "frozen <want>".
  absl::Status SetFrozen(bool want);

  std::string mountpoint_;
  std::string dir_;
};

// linux.resources -> cgroup v2 files, one function per controller.
absl::Status SetV2Memory(const std::string& dir, const oci::Memory& memory);
absl::Status SetV2Cpu(const std::string& dir, const oci::Cpu& cpu);
absl::Status SetV2Cpuset(const std::string& dir, const oci::Cpu& cpu);
absl::Status SetV2Io(const std::string& dir, const oci::BlockIo& block_io);
absl::Status SetV2Hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits);
// Usage counters from a v2 cgroup; absent controllers leave zeros.
absl::Status ReadV2Stats(const std::string& dir, Stats* stats);

// v1 blkio weight [10, 1000] to v2 io.weight [1, 10000].
uint64_t BlkioWeightToIoWeight(uint64_t weight);

}  // namespace peapod::cgroups
