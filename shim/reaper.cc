#include "shim/reaper.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

extern char** environ;

namespace peapod::shim {
namespace {

constexpr size_t kMaxUnclaimed = 128;
constexpr time_t kUnclaimedTtlSeconds = 60;

}  // namespace

int Exit::ExitCode() const {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return 255;
}

timespec Now() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return ts;
}

absl::StatusOr<std::unique_ptr<Reaper>> Reaper::Start() {
  if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
    return absl::InternalError(absl::StrCat("PR_SET_CHILD_SUBREAPER: ", strerror(errno)));
  }
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGCHLD);
  if (pthread_sigmask(SIG_BLOCK, &set, nullptr) != 0) {
    return absl::InternalError("blocking SIGCHLD failed");
  }
  linux::UniqueFd fd(signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!fd) return absl::InternalError(absl::StrCat("signalfd: ", strerror(errno)));
  std::unique_ptr<Reaper> r(new Reaper(std::move(fd)));
  r->thread_ = std::thread([p = r.get()] { p->Loop(); });
  return r;
}

Reaper::Reaper(linux::UniqueFd sigfd) : sigfd_(std::move(sigfd)), stop_(eventfd(0, EFD_CLOEXEC)) {}

Reaper::~Reaper() {
  uint64_t one = 1;
  (void)!::write(stop_.get(), &one, sizeof(one));
  thread_.join();
}

void Reaper::Loop() {
  pollfd fds[2] = {{sigfd_.get(), POLLIN, 0}, {stop_.get(), POLLIN, 0}};
  for (;;) {
    // Reap first: a SIGCHLD may have arrived before the signalfd existed.
    // Exits are dispatched after reap_mu_ is released: a callback may call
    // the launcher, which holds it shared.
    std::vector<Exit> exits;
    {
      std::unique_lock hold(reap_mu_);
      for (;;) {
        int status = 0;
        pid_t pid = waitpid(-1, &status, WNOHANG);
        if (pid <= 0) break;
        exits.push_back(Exit{pid, status, Now()});
      }
    }
    for (const Exit& e : exits) Dispatch(e);
    int r = poll(fds, 2, -1);
    if (r < 0 && errno != EINTR) return;
    if (fds[1].revents != 0) return;
    signalfd_siginfo info;
    while (read(sigfd_.get(), &info, sizeof(info)) == sizeof(info)) {
    }
  }
}

void Reaper::Dispatch(const Exit& exit) {
  ExitFn fn;
  {
    std::lock_guard lock(mu_);
    if (auto it = commands_.find(exit.pid); it != commands_.end()) {
      *it->second = exit;
      cv_.notify_all();
      return;
    }
    auto w = watches_.find(exit.pid);
    if (w == watches_.end()) {
      while (!unclaimed_.empty() &&
             (unclaimed_.size() >= kMaxUnclaimed ||
              exit.time.tv_sec - unclaimed_.front().time.tv_sec > kUnclaimedTtlSeconds)) {
        unclaimed_.pop_front();
      }
      unclaimed_.push_back(exit);
      return;
    }
    fn = std::move(w->second);
    watches_.erase(w);
  }
  fn(exit);
}

void Reaper::Watch(pid_t pid, ExitFn fn) {
  std::unique_lock lock(mu_);
  for (auto it = unclaimed_.begin(); it != unclaimed_.end(); ++it) {
    if (it->pid != pid) continue;
    Exit e = *it;
    unclaimed_.erase(it);
    lock.unlock();
    fn(e);
    return;
  }
  watches_[pid] = std::move(fn);
}

std::shared_lock<std::shared_mutex> Reaper::HoldReaping() {
  return std::shared_lock<std::shared_mutex>(reap_mu_);
}

void Reaper::Unwatch(pid_t pid) {
  std::lock_guard lock(mu_);
  watches_.erase(pid);
}

absl::StatusOr<Exit> Reaper::Run(const Command& cmd) {
  if (cmd.argv.empty()) return absl::InvalidArgumentError("empty command");
  linux::UniqueFd null(open("/dev/null", O_RDWR | O_CLOEXEC));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  const int fds[3] = {cmd.stdin_fd, cmd.stdout_fd, cmd.stderr_fd};
  for (int i = 0; i < 3; ++i)
    posix_spawn_file_actions_adddup2(&fa, fds[i] >= 0 ? fds[i] : null.get(), i);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t empty, deflt;
  sigemptyset(&empty);
  sigemptyset(&deflt);
  sigaddset(&deflt, SIGPIPE);
  sigaddset(&deflt, SIGCHLD);
  posix_spawnattr_setsigmask(&attr, &empty);
  posix_spawnattr_setsigdefault(&attr, &deflt);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  std::vector<char*> argv;
  for (const auto& a : cmd.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  auto slot = std::make_shared<Exit>();
  std::unique_lock lock(mu_);
  pid_t pid = 0;
  int err = posix_spawnp(&pid, argv[0], &fa, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (err != 0) {
    return absl::FailedPreconditionError(absl::StrCat("run ", cmd.argv[0], ": ", strerror(err)));
  }
  commands_[pid] = slot;
  cv_.wait(lock, [&] { return slot->pid != 0; });
  commands_.erase(pid);
  return *slot;
}

}  // namespace peapod::shim
