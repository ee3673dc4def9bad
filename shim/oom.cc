#include "shim/oom.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <sstream>
#include <vector>

#include "absl/strings/str_cat.h"

namespace peapod::shim {
namespace {

std::string ReadSmall(const std::string& path) {
  linux::UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  std::string out;
  if (!fd) return out;
  char buf[1024];
  for (ssize_t n; (n = read(fd.get(), buf, sizeof(buf))) > 0;) out.append(buf, n);
  return out;
}

bool IsDir(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

}  // namespace

uint64_t OomWatcher::ParseOomKill(const std::string& text) {
  std::istringstream in(text);
  for (std::string key; in >> key;) {
    uint64_t v = 0;
    if (!(in >> v)) break;
    if (key == "oom_kill") return v;
  }
  return 0;
}

OomWatcher::OomWatcher(std::function<void(const std::string&)> on_oom)
    : on_oom_(std::move(on_oom)) {}

OomWatcher::~OomWatcher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  settled_.notify_all();
  if (thread_.joinable()) {
    uint64_t one = 1;
    (void)!write(wake_.get(), &one, sizeof(one));
    thread_.join();
  }
}

absl::Status OomWatcher::EnsureThread() {
  if (thread_.joinable()) return absl::OkStatus();
  wake_.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wake_) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
  thread_ = std::thread([this] { Loop(); });
  return absl::OkStatus();
}

absl::Status OomWatcher::Register(pid_t pid, Entry& e, bool* watch) {
  *watch = false;
  // 1. The memory cgroup, from the host's view of /proc/<pid>/cgroup.
  std::istringstream in(ReadSmall(absl::StrCat("/proc/", pid, "/cgroup")));
  std::string v1_path, v2_path;
  for (std::string line; std::getline(in, line);) {
    size_t a = line.find(':'), b = line.find(':', a + 1);
    if (a == std::string::npos || b == std::string::npos) continue;
    std::string ctls = line.substr(a + 1, b - a - 1), path = line.substr(b + 1);
    if (ctls.empty()) v2_path = path;
    std::istringstream cs(ctls);
    for (std::string c; std::getline(cs, c, ',');) {
      if (c == "memory") v1_path = path;
    }
  }
  if (!v1_path.empty() && IsDir("/sys/fs/cgroup/memory" + v1_path)) {
    // 2a. v1: eventfd + "<eventfd> <oom_control fd>" into cgroup.event_control.
    std::string dir = "/sys/fs/cgroup/memory" + v1_path;
    e.counter_path = dir + "/memory.oom_control";
    linux::UniqueFd ctl(open(e.counter_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ctl)
      return absl::InternalError(absl::StrCat("open ", e.counter_path, ": ", strerror(errno)));
    e.fd.Reset(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
    if (!e.fd) return absl::InternalError(absl::StrCat("eventfd: ", strerror(errno)));
    std::string reg = absl::StrCat(e.fd.get(), " ", ctl.get());
    std::string ev = dir + "/cgroup.event_control";
    linux::UniqueFd evfd(open(ev.c_str(), O_WRONLY | O_CLOEXEC));
    if (!evfd || write(evfd.get(), reg.data(), reg.size()) != static_cast<ssize_t>(reg.size())) {
      return absl::InternalError(absl::StrCat("register OOM event in ", ev, ": ", strerror(errno)));
    }
  } else if (!v2_path.empty() && IsDir("/sys/fs/cgroup" + v2_path + "/memory.events")) {
    // 2b. v2 (the unified hierarchy has the memory controller).
    e.v2 = true;
    e.counter_path = "/sys/fs/cgroup" + v2_path + "/memory.events";
    e.fd.Reset(open(e.counter_path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!e.fd)
      return absl::InternalError(absl::StrCat("open ", e.counter_path, ": ", strerror(errno)));
  } else {
    return absl::OkStatus();  // no memory controller for this container
  }
  e.reported = ParseOomKill(ReadSmall(e.counter_path));
  *watch = true;
  return absl::OkStatus();
}

absl::Status OomWatcher::Add(const std::string& id, pid_t pid) {
  std::lock_guard lock(mu_);
  if (absl::Status s = EnsureThread(); !s.ok()) return s;
  entries_.erase(id);
  pending_[id] = pid;
  uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
  return absl::OkStatus();
}

void OomWatcher::RegisterPending() {
  std::map<std::string, pid_t> todo;
  {
    std::lock_guard lock(mu_);
    todo = pending_;
  }
  for (const auto& [id, pid] : todo) {
    Entry e;
    bool watch = false;
    absl::Status s = Register(pid, e, &watch);
    if (!s.ok()) {
      fprintf(stderr, "containerd-shim-peapod-v2: %s: %s\n", id.c_str(), s.ToString().c_str());
    }
    std::lock_guard lock(mu_);
    auto it = pending_.find(id);
    if (it == pending_.end() || it->second != pid) continue;  // removed or re-added
    pending_.erase(it);
    if (watch) entries_[id] = std::move(e);
  }
  settled_.notify_all();
}

void OomWatcher::Settle(const std::string& id) {
  std::unique_lock lock(mu_);
  settled_.wait(lock, [&] { return stopping_ || failed_ || !pending_.contains(id); });
}

void OomWatcher::Check(const std::string& id) {
  Settle(id);
  CheckEntry(id);
}

void OomWatcher::CheckEntry(const std::string& id) {
  bool oom = false;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    uint64_t n = ParseOomKill(ReadSmall(it->second.counter_path));
    if (n > it->second.reported) {
      it->second.reported = n;
      oom = true;
    }
  }
  if (oom) on_oom_(id);
}

void OomWatcher::Remove(const std::string& id) {
  std::lock_guard lock(mu_);
  bool was_pending = pending_.erase(id) > 0;
  if (was_pending) settled_.notify_all();
  if (entries_.erase(id) == 0) return;
  uint64_t one = 1;
  (void)!write(wake_.get(), &one, sizeof(one));
}

void OomWatcher::Loop() {
  std::vector<pollfd> fds;
  std::vector<std::string> ids;
  for (;;) {
    fds.assign(1, pollfd{wake_.get(), POLLIN, 0});
    ids.assign(1, "");
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      for (const auto& [id, e] : entries_) {
        fds.push_back(pollfd{e.fd.get(), static_cast<short>(e.v2 ? POLLPRI : POLLIN), 0});
        ids.push_back(id);
      }
    }
    if (poll(fds.data(), fds.size(), -1) < 0 && errno != EINTR) {
      std::lock_guard lock(mu_);
      failed_ = true;  // Settle must not wait for this thread any more
      settled_.notify_all();
      return;
    }
    uint64_t v;
    if (fds[0].revents) {
      (void)!read(wake_.get(), &v, sizeof(v));
      RegisterPending();
    }
    for (size_t i = 1; i < fds.size(); ++i) {
      if (fds[i].revents == 0) continue;
      {
        // Clear the readiness (v1: the eventfd count; v2: re-read the file)
        // unless the entry went away meanwhile (its fd may be closed).
        std::lock_guard lock(mu_);
        auto it = entries_.find(ids[i]);
        if (it == entries_.end() || it->second.fd.get() != fds[i].fd) continue;
        if (it->second.v2) {
          char buf[512];
          lseek(fds[i].fd, 0, SEEK_SET);
          (void)!read(fds[i].fd, buf, sizeof(buf));
        } else {
          (void)!read(fds[i].fd, &v, sizeof(v));
        }
      }
      CheckEntry(ids[i]);
    }
  }
}

}  // namespace peapod::shim
