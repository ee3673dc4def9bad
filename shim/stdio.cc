#include "shim/stdio.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_cat.h"
#include "shim/ttrpc/thread.h"

namespace peapod::shim {
namespace {

absl::Status Errno(const std::string& what) {
  return absl::InternalError(absl::StrCat(what, ": ", strerror(errno)));
}

std::string StripFileUri(const std::string& p) {
  return p.rfind("file://", 0) == 0 ? p.substr(7) : p;
}

// Opens an output path: a fifo gets a held read end plus a blocking write
// end; a regular file (or file:// URI) is opened for appending.
absl::Status OpenOutput(const std::string& uri, linux::UniqueFd* write_end, linux::UniqueFd* hold) {
  if (uri.empty()) return absl::OkStatus();
  if (uri.rfind("binary://", 0) == 0) {
    return absl::UnimplementedError("binary:// log URIs are not supported by this shim");
  }
  std::string path = StripFileUri(uri);
  struct stat st;
  if (stat(path.c_str(), &st) != 0 || !S_ISFIFO(st.st_mode)) {
    write_end->Reset(open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640));
    return *write_end ? absl::OkStatus() : Errno("open " + path);
  }
  hold->Reset(open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!*hold) return Errno("open fifo " + path);
  write_end->Reset(open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!*write_end) return Errno("open fifo " + path);
  int fl = fcntl(write_end->get(), F_GETFL);
  fcntl(write_end->get(), F_SETFL, fl & ~O_NONBLOCK);
  return absl::OkStatus();
}

// Receives one fd sent with SCM_RIGHTS on a connected socket.
absl::StatusOr<linux::UniqueFd> ReceiveFd(int sock) {
  char buf[256];
  char control[CMSG_SPACE(sizeof(int))];
  iovec iov{buf, sizeof(buf)};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  if (n < 0) return Errno("recvmsg console");
  cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (c == nullptr || c->cmsg_type != SCM_RIGHTS) {
    return absl::InternalError("console socket: no fd received");
  }
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof(fd));
  return linux::UniqueFd(fd);
}

// Writes all of buf; false once the reader is gone.
bool WriteAll(int fd, const char* buf, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, buf, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    buf += w;
    n -= w;
  }
  return true;
}

}  // namespace

absl::StatusOr<std::unique_ptr<Stdio>> Stdio::Open(const StdioPaths& paths) {
  std::unique_ptr<Stdio> s(new Stdio());
  s->paths_ = paths;
  if (!paths.stdin_path.empty()) {
    bool held = paths.stdin_path.rfind(kCriStdinScheme, 0) == 0;
    std::string p = held ? paths.stdin_path.substr(sizeof(kCriStdinScheme) - 1)
                         : StripFileUri(paths.stdin_path);
    s->stdin_.Reset(open(p.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
    if (!s->stdin_) return Errno("open stdin " + p);
    if (held) {
      s->stdin_hold_.Reset(open(p.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      if (!s->stdin_hold_) return Errno("open stdin " + p + " for writing");
    }
    int fl = fcntl(s->stdin_.get(), F_GETFL);
    fcntl(s->stdin_.get(), F_SETFL, fl & ~O_NONBLOCK);
  }
  if (paths.stdout_path.rfind(kCriLogScheme, 0) == 0) {
    if (absl::Status st = s->OpenCriLog(); !st.ok()) return st;
  } else if (paths.stderr_path.rfind(kCriLogScheme, 0) == 0) {
    return absl::InvalidArgumentError("stderr is a crilog:// URI but stdout is not");
  } else if (absl::Status st = OpenOutput(paths.stdout_path, &s->stdout_w_, &s->stdout_hold_);
             !st.ok()) {
    return st;
  }
  if (!paths.terminal && s->log_ == nullptr) {
    if (absl::Status st = OpenOutput(paths.stderr_path, &s->stderr_w_, &s->stderr_hold_);
        !st.ok()) {
      return st;
    }
    return s;
  }
  if (!paths.terminal) return s;
  char tmpl[] = "/tmp/peapod-pty-XXXXXX";
  if (mkdtemp(tmpl) == nullptr) return Errno("mkdtemp");
  s->console_dir_ = tmpl;
  s->console_path_ = s->console_dir_ + "/pty.sock";
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  memcpy(addr.sun_path, s->console_path_.c_str(), s->console_path_.size());
  s->console_listener_.Reset(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (bind(s->console_listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 ||
      listen(s->console_listener_.get(), 1) != 0) {
    return Errno("console socket " + s->console_path_);
  }
  return s;
}

Stdio::~Stdio() {
  if (copy_stop_) {
    uint64_t one = 1;
    (void)!write(copy_stop_.get(), &one, sizeof(one));
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return !copying_; });
  }
  if (!console_dir_.empty()) {
    unlink(console_path_.c_str());
    rmdir(console_dir_.c_str());
  }
}

absl::Status Stdio::OpenCriLog() {
  if (!paths_.stderr_path.empty() && paths_.stderr_path != paths_.stdout_path) {
    return absl::InvalidArgumentError(absl::StrCat("stdout is ", paths_.stdout_path,
                                                   ": stderr must be the same URI or empty, not ",
                                                   paths_.stderr_path));
  }
  absl::StatusOr<std::unique_ptr<CriLog>> log = CriLog::Open(paths_.stdout_path);
  if (!log.ok()) return log.status();
  log_ = std::move(*log);
  if (paths_.terminal) return absl::OkStatus();  // the pty carries both streams
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return Errno("pipe");
  out_r_.Reset(out[0]);
  stdout_w_.Reset(out[1]);
  if (pipe2(err, O_CLOEXEC) != 0) return Errno("pipe");
  err_r_.Reset(err[0]);
  stderr_w_.Reset(err[1]);
  return absl::OkStatus();
}

absl::Status Stdio::AfterSpawn() {
  if (!paths_.terminal) {
    // The process has its own copies; ours would keep readers from seeing EOF.
    stdout_w_.Reset();
    stderr_w_.Reset();
    stdin_.Reset();
    return log_ != nullptr ? StartCopy() : absl::OkStatus();
  }
  pollfd p{console_listener_.get(), POLLIN, 0};
  if (poll(&p, 1, 10000) != 1) return absl::DeadlineExceededError("no console from the runtime");
  linux::UniqueFd conn(accept4(console_listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
  if (!conn) return Errno("accept console");
  absl::StatusOr<linux::UniqueFd> master = ReceiveFd(conn.get());
  if (!master.ok()) return master.status();
  master_ = std::move(*master);
  console_listener_.Reset();
  unlink(console_path_.c_str());
  rmdir(console_dir_.c_str());
  console_dir_.clear();
  return StartCopy();
}

absl::Status Stdio::StartCopy() {
  copy_stop_.Reset(eventfd(0, EFD_CLOEXEC));
  {
    std::lock_guard lock(mu_);
    copying_ = true;
  }
  absl::Status st = ttrpc::SpawnDetached([this] { CopyLoop(); }, 128 << 10);
  if (!st.ok()) {
    std::lock_guard lock(mu_);
    copying_ = false;
  }
  return st;
}

void Stdio::Emit(LogStream s, const char* buf, size_t n) {
  if (log_ != nullptr) {
    log_->Write(s, std::string_view(buf, n));
  } else if (stdout_w_ && !WriteAll(stdout_w_.get(), buf, n)) {
    stdout_w_.Reset();
  }
  if (has_sinks_) Tee(s, buf, n);
}

void Stdio::Tee(LogStream s, const char* buf, size_t n) {
  std::lock_guard lock(mu_);
  std::vector<linux::UniqueFd>& sinks = sinks_[static_cast<int>(s)];
  std::erase_if(sinks, [&](const linux::UniqueFd& fd) {
    // Non-blocking: a full fifo is a client that fell behind; it is dropped.
    for (size_t done = 0; done < n;) {
      ssize_t w = write(fd.get(), buf + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w <= 0) return true;
      done += static_cast<size_t>(w);
    }
    return false;
  });
}

absl::Status Stdio::Attach(const std::string& stdout_path, const std::string& stderr_path) {
  if (log_ == nullptr) {
    return absl::FailedPreconditionError(
        "attach needs the output copied into a crilog:// log by the shim");
  }
  linux::UniqueFd fds[2];
  const std::string* paths[2] = {&stdout_path, &stderr_path};
  for (int i = 0; i < 2; ++i) {
    if (paths[i]->empty()) continue;
    fds[i].Reset(open(paths[i]->c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
    if (!fds[i]) return Errno("open attach fifo " + *paths[i]);
  }
  std::lock_guard lock(mu_);
  if (output_ended_) return absl::FailedPreconditionError("the process's output has ended");
  for (int i = 0; i < 2; ++i) {
    if (fds[i]) sinks_[i].push_back(std::move(fds[i]));
  }
  has_sinks_ = true;
  return absl::OkStatus();
}

// Copies the output sources (the pty master, or the stdout and stderr pipes
// of a CRI log) to their destination, and stdin into the pty, until every
// output source has ended or the Stdio goes away.
void Stdio::CopyLoop() {
  char buf[8192];
  bool in_open = paths_.terminal && stdin_.valid();
  int src[2] = {paths_.terminal ? master_.get() : out_r_.get(), err_r_.get()};
  while (src[0] >= 0 || src[1] >= 0) {
    pollfd fds[4] = {{src[0], POLLIN, 0},
                     {src[1], POLLIN, 0},
                     {copy_stop_.get(), POLLIN, 0},
                     {in_open ? stdin_.get() : -1, POLLIN, 0}};
    if (poll(fds, 4, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    if (fds[2].revents) break;
    for (int i = 0; i < 2; ++i) {
      if (src[i] < 0 || fds[i].revents == 0) continue;
      ssize_t n = read(src[i], buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {  // EOF, or EIO: every pty slave is closed, the process is gone
        src[i] = -1;
        if (log_ != nullptr) log_->Flush(static_cast<LogStream>(i));
        continue;
      }
      Emit(static_cast<LogStream>(i), buf, n);
    }
    if (in_open && fds[3].revents) {
      ssize_t n = read(stdin_.get(), buf, sizeof(buf));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0 || !WriteAll(master_.get(), buf, n)) in_open = false;
    }
  }
  if (log_ != nullptr) {
    log_->Flush(LogStream::kStdout);
    log_->Flush(LogStream::kStderr);
  }
  stdout_w_.Reset();  // the reader sees EOF
  std::lock_guard lock(mu_);
  for (auto& sinks : sinks_) sinks.clear();  // so do attached clients
  output_ended_ = true;
  copying_ = false;
  cv_.notify_all();
}

void Stdio::CloseStdin() {
  {
    std::lock_guard lock(mu_);
    stdin_hold_.Reset();  // cristdin://: the last writer may be gone now
  }
  // Without a terminal the process reads the stdin fifo itself: its EOF
  // comes from containerd closing the writer, and our read end is dropped
  // at AfterSpawn. Closing it here raced with a spawn in progress: the
  // child's dup2 of the fd number found it closed (EBADF) when CloseIO
  // came in while Start was running, as ctr does when its stdin is empty.
  if (!paths_.terminal) return;
  // With a terminal, end-of-input is the terminal's EOF character.
  std::lock_guard lock(mu_);
  if (master_) {
    termios t;
    char eof = tcgetattr(master_.get(), &t) == 0 ? static_cast<char>(t.c_cc[VEOF]) : 4;
    (void)!write(master_.get(), &eof, 1);
  }
}

absl::Status Stdio::Resize(uint32_t width, uint32_t height) {
  if (!master_) return absl::OkStatus();
  winsize ws{};
  ws.ws_col = width;
  ws.ws_row = height;
  if (ioctl(master_.get(), TIOCSWINSZ, &ws) != 0) return Errno("TIOCSWINSZ");
  return absl::OkStatus();
}

void Stdio::WaitOutput(int timeout_ms) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [this] { return !copying_; });
}

}  // namespace peapod::shim
