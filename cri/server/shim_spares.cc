#include "cri/server/shim_spares.h"

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "cri/store/id.h"
#include "cri/store/record_file.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

namespace fs = std::filesystem;

std::string SocketPath(const std::string& address) {
  return address.starts_with("unix://") ? address.substr(7) : address;
}

}  // namespace

ShimSpares::ShimSpares(ShimOptions opts, std::string dir, int count, Logger& log, BusyGate* gate)
    : opts_(std::move(opts)),
      dir_(std::move(dir)),
      count_(count > 0 ? static_cast<size_t>(count) : 0),
      log_(log),
      gate_(gate) {}

ShimSpares::~ShimSpares() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (filler_.joinable()) filler_.join();
  for (const Spare& s : ready_) Discard(s.dir, s.id);
  ready_.clear();
}

void ShimSpares::Start() {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  chmod(dir_.c_str(), 0700);
  // Spares of a peapodd that did not stop cleanly: their shims still run.
  for (const fs::directory_entry& e : fs::directory_iterator(dir_, ec)) {
    log_.Info(Cat("shutting down a spare shim left by a previous peapodd: ", e.path().string()));
    Discard(e.path().string(), e.path().filename().string());
  }
  if (count_ > 0) filler_ = std::thread([this] { Fill(); });
}

size_t ShimSpares::Ready() const {
  std::lock_guard lock(mu_);
  return ready_.size();
}

absl::StatusOr<ShimSpares::Spare> ShimSpares::StartOne() {
  Spare s;
  s.id = "spare-" + NewId().substr(0, 16);
  s.dir = Cat(dir_, "/", s.id);
  if (mkdir(s.dir.c_str(), 0700) != 0) {
    return absl::InternalError(Cat("mkdir ", s.dir, ": ", strerror(errno)));
  }
  absl::StatusOr<std::string> address = ShimClient::StartShim(opts_, s.id, s.dir);
  if (!address.ok()) {
    std::error_code ec;
    fs::remove_all(s.dir, ec);
    return address.status();
  }
  s.address = *address;
  absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(s.address);
  if (!client.ok()) {
    Discard(s.dir, s.id);
    return client.status();
  }
  s.client = *std::move(client);
  return s;
}

void ShimSpares::Fill() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || ready_.size() < count_; });
    if (stopping_) return;
    lock.unlock();
    if (gate_ != nullptr) gate_->WaitIdle(std::chrono::seconds(2));
    absl::StatusOr<Spare> s = StartOne();
    lock.lock();
    if (s.ok()) {
      log_.Debug(Cat("spare shim ", s->id, " ready"));
      ready_.push_back(*std::move(s));
      continue;
    }
    log_.Warn(Cat("cannot start a spare shim: ", s.status().ToString()));
    // Not in a loop: the next try is in a second, or at the next Take.
    cv_.wait_for(lock, std::chrono::seconds(1), [&] { return stopping_; });
  }
}

absl::StatusOr<ShimSpares::Taken> ShimSpares::Take(const std::string& pod_dir) {
  for (;;) {
    Spare s;
    {
      std::lock_guard lock(mu_);
      if (ready_.empty()) return absl::NotFoundError("no spare shim ready");
      s = std::move(ready_.front());
      ready_.pop_front();
    }
    cv_.notify_all();                    // the filler starts the next one
    if (!s.client->raw().connected()) {  // the shim closed it: gone
      log_.Warn(Cat("spare shim ", s.id, " went away"));
      s.client.reset();
      Discard(s.dir, s.id);
      continue;
    }
    if (rename(s.dir.c_str(), pod_dir.c_str()) != 0) {
      absl::Status err =
          absl::InternalError(Cat("rename ", s.dir, " to ", pod_dir, ": ", strerror(errno)));
      Discard(s.dir, s.id);
      return err;
    }
    return Taken{s.address, std::move(s.client)};
  }
}

void ShimSpares::Discard(const std::string& spare_dir, const std::string& id) {
  absl::StatusOr<std::string> address = ReadSmallFile(spare_dir + "/address");
  if (address.ok()) {
    std::string a(*address);
    while (!a.empty() && (a.back() == '\n' || a.back() == ' ')) a.pop_back();
    std::string path = SocketPath(a);
    absl::StatusOr<std::unique_ptr<ShimClient>> client = ShimClient::Connect(a);
    if (client.ok()) {
      if (absl::Status s = (*client)->Shutdown(id, true); !s.ok()) {
        log_.Warn(Cat("spare shim ", id, ": ", s.ToString()));
      }
      client->reset();
      ShimClient::AwaitExit(a);  // an idle shim removes its socket as it exits
    } else {
      // Dead: its socket file is all that is left of it (never anything
      // but a socket, and only one in the shims' socket dir).
      struct stat st;
      if (!opts_.socket_dir.empty() && path.starts_with(opts_.socket_dir + "/") &&
          lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(path.c_str());
      }
    }
  }
  std::error_code ec;
  fs::remove_all(spare_dir, ec);
  if (ec) log_.Warn(Cat("remove ", spare_dir, ": ", ec.message()));
}

}  // namespace peapod::cri
