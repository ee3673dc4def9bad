// Hybrid hosts: v1 controllers plus a cgroup2 mount without controllers.
#include "absl/strings/str_cat.h"
#include "oci/cgroups/v1_manager.h"
#include "oci/cgroups/v2_manager.h"

namespace peapod::cgroups {
namespace {

// Invariant: the v1 half is authoritative for limits, stats, the freezer
// and OOM counts; the v2 half holds the same processes, so cgroup.kill there
// reaches everything the container ever forked.
class HybridManager : public Manager {
 public:
  HybridManager(const Host& host, const std::string& path)
      : Manager(path), v1_(host, path), v2_(host.unified, path) {}

  Mode mode() const override { return Mode::kHybrid; }

  std::map<std::string, std::string> Paths() const override {
    auto paths = v1_.Paths();
    paths.merge(v2_.Paths());
    return paths;
  }

  absl::Status Create() override {
    if (auto st = v1_.Create(); !st.ok()) return st;
    return v2_.Create();
  }
  absl::Status CreateV2() override { return v2_.Create(); }
  absl::Status CreateV1() override { return v1_.Create(); }
  absl::StatusOr<int> OpenV2Dir() const override { return v2_.OpenV2Dir(); }

  absl::Status Apply(pid_t pid) override {
    if (auto st = v1_.Apply(pid); !st.ok()) return st;
    return v2_.Apply(pid);
  }

  absl::StatusOr<JoinHandles> OpenJoinHandles() const override {
    auto handles = v1_.OpenJoinHandles();
    if (!handles.ok()) return handles.status();
    auto v2 = v2_.OpenJoinHandles();
    if (!v2.ok()) return v2.status();
    std::swap(handles->v2_dir, v2->v2_dir);
    return handles;
  }

  absl::Status Set(const oci::Resources& resources) override {
    oci::Resources v1_part = resources;
    v1_part.unified.clear();
    if (auto st = v1_.Set(v1_part); !st.ok()) return st;
    return v2_.SetUnified(resources.unified);
  }

  absl::StatusOr<Stats> GetStats() override { return v1_.GetStats(); }
  absl::Status Freeze() override { return Freezer().Freeze(); }
  absl::Status Thaw() override { return Freezer().Thaw(); }
  absl::StatusOr<FreezerState> GetFreezerState() override { return Freezer().GetFreezerState(); }
  absl::StatusOr<std::vector<pid_t>> Pids() override { return v1_.Pids(); }
  absl::StatusOr<uint64_t> OomKillCount() override { return v1_.OomKillCount(); }
  bool Exists() const override { return v1_.Exists() || v2_.Exists(); }

  absl::Status KillAll() override {
    if (!v2_.Exists()) return v1_.KillAll();
    absl::Status st = v2_.SendKill();
    if (st.ok()) {
      // Tasks stopped by the v1 freezer only die once thawed.
      auto frozen = v1_.Dir("freezer").empty()
                        ? FreezerState::kThawed
                        : v1_.GetFreezerState().value_or(FreezerState::kThawed);
      if (frozen == FreezerState::kFrozen) st.Update(v1_.Thaw());
      st.Update(v2_.WaitEmpty());
    }
    // A task that escaped the v2 cgroup is still in v1 (and v1 is the
    // fallback on kernels without cgroup.kill).
    absl::Status v1 = v1_.KillAll();
    return st.ok() || absl::IsUnimplemented(st) ? v1 : st;
  }

  absl::Status Destroy(bool kill) override {
    absl::Status first;
    if (kill) first.Update(KillAll());
    first.Update(v1_.Destroy(false));
    first.Update(v2_.Destroy(false));
    return first;
  }

 private:
  // v1 freezer where mounted, else cgroup.freeze of the cgroup2 half.
  Manager& Freezer() {
    if (!v1_.Dir("freezer").empty()) return v1_;
    return v2_;
  }

  V1Manager v1_;
  V2Manager v2_;
};

}  // namespace

std::unique_ptr<Manager> NewHybridManager(const Host& host, const std::string& path) {
  return std::make_unique<HybridManager>(host, path);
}

}  // namespace peapod::cgroups
