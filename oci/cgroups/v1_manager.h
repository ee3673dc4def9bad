// cgroup v1 manager: one directory per mounted hierarchy
// (<mountpoint><path>), resources written to the controller's files.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "oci/cgroups/manager.h"

namespace peapod::cgroups {

class V1Manager : public Manager {
 public:
  V1Manager(const Host& host, std::string path);

  Mode mode() const override { return Mode::kLegacy; }
  std::map<std::string, std::string> Paths() const override;
  absl::Status Create() override;
  absl::Status CreateV1() override { return Create(); }
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
  absl::Status KillAll() override;
  // One `tasks` fd per hierarchy.
  absl::StatusOr<JoinHandles> OpenJoinHandles() const override;

  // The container's directory in the hierarchy carrying `controller`, or ""
  // if that controller is not mounted.
  std::string Dir(absl::string_view controller) const;

 private:
  struct Hierarchy {
    std::vector<std::string> controllers;
    std::string mountpoint;
    std::string dir;  // mountpoint + path
  };
  // The directory of `controller`, or FailedPrecondition naming `what`
  // (the OCI field that needs it).
  absl::StatusOr<std::string> Need(absl::string_view controller, absl::string_view what) const;
  // Writes freezer.state and waits until it reads back `want`.
  absl::Status SetFreezer(absl::string_view want);
  // The directory Pids() reads: any hierarchy holds every task.
  const std::string& PidsDir() const;

  std::vector<Hierarchy> hierarchies_;
};

// Writes linux.resources to the v1 directories of `m`. Split out of
// V1Manager::Set to keep each controller's rules on one screen.
absl::Status SetV1Memory(const std::string& dir, const oci::Memory& memory);
absl::Status SetV1Cpu(const std::string& dir, const oci::Cpu& cpu);
absl::Status SetV1Cpuset(const std::string& dir, const oci::Cpu& cpu);
absl::Status SetV1BlockIo(const std::string& dir, const oci::BlockIo& block_io);
absl::Status SetV1Hugetlb(const std::string& dir, const std::vector<oci::HugepageLimit>& limits);
absl::Status SetV1Devices(const std::string& dir, const std::vector<oci::DeviceCgroupRule>& rules);

// Stats readers per v1 controller directory.
absl::Status ReadV1MemoryStats(const std::string& dir, Stats* stats);
absl::Status ReadV1CpuacctStats(const std::string& dir, Stats* stats);
absl::Status ReadV1CpuStats(const std::string& dir, Stats* stats);
absl::Status ReadV1HugetlbStats(const std::string& dir, Stats* stats);

}  // namespace peapod::cgroups
