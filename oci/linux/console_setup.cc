// Terminal setup.
#include "oci/linux/console.h"

#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include <cstring>

#include "absl/strings/str_cat.h"
#include "oci/linux/errno_status.h"

namespace peapod::linux {

absl::StatusOr<UniqueFd> ConnectUnix(const std::string& path) {
  struct sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof addr.sun_path) {
    return absl::InvalidArgumentError("console socket path too long: " + path);
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size());
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd) return ErrnoStatus("socket");
  if (::connect(fd.get(), reinterpret_cast<struct sockaddr*>(&addr), sizeof addr) != 0) {
    return ErrnoStatus("connect console socket " + path);
  }
  return fd;
}

absl::Status SendFd(int socket_fd, int fd, const std::string& name) {
  struct iovec iov = {const_cast<char*>(name.data()), name.size()};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(c), &fd, sizeof fd);
  if (::sendmsg(socket_fd, &msg, MSG_NOSIGNAL) < 0) return ErrnoStatus("send console fd");
  return absl::OkStatus();
}

absl::StatusOr<UniqueFd> ReceiveFd(int socket_fd) {
  char buf[4096];
  struct iovec iov = {buf, sizeof buf};
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msg.msg_control = control;
  msg.msg_controllen = sizeof control;
  if (::recvmsg(socket_fd, &msg, MSG_CMSG_CLOEXEC) < 0) return ErrnoStatus("receive fd");
  for (struct cmsghdr* c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c), sizeof fd);
      return UniqueFd(fd);
    }
  }
  return absl::InternalError("no fd received");
}

absl::Status SetupConsole(int socket_fd, const std::optional<oci::ConsoleSize>& size) {
  UniqueFd master(::open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!master) return ErrnoStatus("open /dev/ptmx");
  int unlock = 0;
  if (::ioctl(master.get(), TIOCSPTLCK, &unlock) != 0) return ErrnoStatus("unlock pty");
  // The slave is opened through the master (TIOCGPTPEER), so no path lookup
  // in /dev/pts can be redirected.
  UniqueFd slave(::ioctl(master.get(), TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC));
  if (!slave) return ErrnoStatus("open pty slave");
  if (size && size->width > 0 && size->height > 0) {
    struct winsize ws = {};
    ws.ws_row = static_cast<unsigned short>(size->height);
    ws.ws_col = static_cast<unsigned short>(size->width);
    if (::ioctl(slave.get(), TIOCSWINSZ, &ws) != 0) return ErrnoStatus("set console size");
  }
  int ptn = -1;
  ::ioctl(master.get(), TIOCGPTN, &ptn);
  PEAPOD_RETURN_IF_ERROR(SendFd(socket_fd, master.get(), absl::StrCat("/dev/pts/", ptn)));
  master.Reset();
  if (::setsid() < 0) return ErrnoStatus("setsid");
  if (::ioctl(slave.get(), TIOCSCTTY, 0) != 0) return ErrnoStatus("set controlling terminal");
  for (int fd = 0; fd < 3; ++fd) {
    if (::dup2(slave.get(), fd) < 0) return ErrnoStatus("dup pty slave");
  }
  return absl::OkStatus();
}

}  // namespace peapod::linux
