// A container process's stdio as containerd names it: fifo paths (or
// file:// URIs) for stdin, stdout and stderr, or a terminal.
//
// Without a terminal the fifos are handed to the runtime as they are, no
// copying: the container writes straight into containerd's fifo. The shim
// keeps a read end of each output fifo open for the life of the process, so
// the container never gets EPIPE while containerd restarts (it blocks when
// the fifo is full instead, as with containerd's own shim).
//
// With a terminal the runtime sends the pty master over a console socket and
// one small thread copies master -> stdout fifo and stdin fifo -> master.
//
// A stdout of `crilog:///abs/path` (crilog.h) is a CRI log file instead: the
// process writes into pipes (or the pty) and the copy thread formats both
// streams into the one file; with a terminal everything is stdout. Clients
// may then attach (CRI Attach): fifos that get a copy of the output from
// then on.
//
// A stdin of `cristdin:///abs/path` is a fifo the shim also holds open for
// writing, so the process does not see EOF while nobody is attached; CloseIO
// drops that writer (a CRI container's stdin_once ending).
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"
#include "shim/crilog.h"

namespace peapod::shim {

struct StdioPaths {
  std::string stdin_path, stdout_path, stderr_path;
  bool terminal = false;
};

class Stdio {
 public:
  // Opens the paths (empty = /dev/null); with a terminal, also creates the
  // console socket the runtime will send the pty master to.
  static absl::StatusOr<std::unique_ptr<Stdio>> Open(const StdioPaths& paths);
  ~Stdio();
  Stdio(const Stdio&) = delete;
  Stdio& operator=(const Stdio&) = delete;

  // The fds the runtime gives the process (-1: /dev/null or the terminal).
  int stdin_fd() const { return stdin_.get(); }
  int stdout_fd() const { return stdout_w_.get(); }
  int stderr_fd() const { return stderr_w_.get(); }
  // The console socket path for the runtime, "" without a terminal.
  const std::string& console_socket() const { return console_path_; }

  // Once the runtime has the process's stdio: drops the shim's copies of the
  // process's ends (so readers see EOF when the process exits) and, with a
  // terminal, receives the pty master and starts copying.
  absl::Status AfterSpawn();
  // CloseIO: with a terminal, sends it EOF; without, the fifo writer
  // (containerd) closing is the EOF and nothing is done here.
  void CloseStdin();
  // Sets the terminal size; no-op without a terminal.
  absl::Status Resize(uint32_t width, uint32_t height);
  // Waits (up to timeout_ms) until all copied output reached its file.
  void WaitOutput(int timeout_ms);
  // True when output is copied by the shim (a terminal or a CRI log).
  bool copies() const { return paths_.terminal || log_ != nullptr; }
  // The CRI log, or null.
  CriLog* log() const { return log_.get(); }
  // Copies the output from now on into these fifos as well (their readers
  // must be open; "" = none). With a terminal all output is stdout. A fifo
  // that is full is dropped (its reader sees EOF): an attached client never
  // holds up the process or its log. All of them end when the output does.
  absl::Status Attach(const std::string& stdout_path, const std::string& stderr_path);

 private:
  Stdio() = default;
  absl::Status OpenCriLog();
  absl::Status StartCopy();
  void CopyLoop();
  // Hands output of a stream to its destination.
  void Emit(LogStream s, const char* buf, size_t n);
  void Tee(LogStream s, const char* buf, size_t n);

  StdioPaths paths_;
  linux::UniqueFd stdin_;                      // read end handed to the process or copied
  linux::UniqueFd stdin_hold_;                 // cristdin://: a writer kept until CloseIO
  linux::UniqueFd stdout_w_, stderr_w_;        // write ends handed to the process
  linux::UniqueFd stdout_hold_, stderr_hold_;  // read ends kept open, never read
  linux::UniqueFd console_listener_;
  std::string console_dir_, console_path_;
  linux::UniqueFd master_;
  std::unique_ptr<CriLog> log_;
  linux::UniqueFd out_r_, err_r_;  // pipe read ends the copier drains into log_
  linux::UniqueFd copy_stop_;      // eventfd ending the copier
  // Attached clients' fifos per stream (under mu_); has_sinks_ spares the
  // output path the lock while there are none.
  std::vector<linux::UniqueFd> sinks_[2];
  std::atomic<bool> has_sinks_ = false;
  bool output_ended_ = false;  // under mu_
  std::mutex mu_;
  std::condition_variable cv_;
  bool copying_ = false;
};

}  // namespace peapod::shim
