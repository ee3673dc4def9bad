#include "cri/server/netns_spare.h"

#include <chrono>
#include <filesystem>

#include "cri/store/id.h"
#include "cri/util/str.h"

namespace peapod::cri {

NetnsSpare::NetnsSpare(std::string dir, Logger& log, BusyGate* gate)
    : dir_(std::move(dir)), log_(log), gate_(gate) {}

NetnsSpare::~NetnsSpare() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (maker_.joinable()) maker_.join();
  ready_.reset();  // unpins it
}

void NetnsSpare::Start(bool make_now) {
  std::error_code ec;
  for (const std::filesystem::directory_entry& e : std::filesystem::directory_iterator(dir_, ec)) {
    if (!e.path().filename().string().starts_with("spare-")) continue;
    if (absl::Status s = RemovePinnedNetns(e.path().string()); !s.ok()) log_.Warn(s.ToString());
  }
  wanted_ = make_now;
  maker_ = std::thread([this] { Fill(); });
}

bool NetnsSpare::Ready() const {
  std::lock_guard lock(mu_);
  return ready_.has_value();
}

absl::StatusOr<PinnedNetns> NetnsSpare::Take(const std::string& name) {
  std::optional<PinnedNetns> spare;
  {
    std::lock_guard lock(mu_);
    wanted_ = true;
    spare.swap(ready_);
  }
  cv_.notify_all();  // the maker makes the next one
  if (!spare) return absl::NotFoundError("no spare network namespace ready");
  absl::StatusOr<PinnedNetns> pinned = PinnedNetns::Pin(spare->path(), dir_, name);
  // The spare's own pin goes either way (the destructor unpins it).
  return pinned;
}

void NetnsSpare::Fill() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || (wanted_ && !ready_); });
    if (stopping_) return;
    lock.unlock();
    if (gate_ != nullptr) gate_->WaitIdle(std::chrono::seconds(2));
    absl::StatusOr<PinnedNetns> ns = PinnedNetns::Create(dir_, "spare-" + NewId().substr(0, 16));
    lock.lock();
    if (ns.ok()) {
      ready_ = *std::move(ns);
      continue;
    }
    log_.Warn(Cat("cannot make a spare network namespace: ", ns.status().ToString()));
    // The next try in a second, or at the next Take.
    wanted_ = false;
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
    wanted_ = true;
  }
}

}  // namespace peapod::cri
