// Running one CNI plugin binary: environment, config on stdin, result or
// error JSON on stdout. Internal to cri/net.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/linux/unique_fd.h"

namespace peapod::cri {

struct PluginCall {
  std::string command;  // ADD, DEL, CHECK, VERSION
  std::string container_id;
  std::string netns;
  std::string ifname;
  std::string args;  // CNI_ARGS, already joined
  std::vector<std::string> plugin_dirs;
  std::string stdin_config;
  std::chrono::milliseconds timeout{60000};
};

// Finds `type` in the plugin dirs (NotFound naming the dirs).
absl::StatusOr<std::string> FindPlugin(const std::string& type,
                                       const std::vector<std::string>& dirs);

// A plugin process started before its config is known: a plugin reads all
// of stdin before it does anything (the CNI skeleton does), so it can be
// started early and its start (a Go runtime's) overlaps whatever the
// config waits for. Destroyed before Send, it is killed and reaped, never
// having acted; destroyed after Send, it is waited for (Finish).
class PluginProcess {
 public:
  // Starts `path` with call's environment; call.stdin_config is not used.
  static absl::StatusOr<PluginProcess> Start(const std::string& path, const PluginCall& call);
  PluginProcess() = default;
  PluginProcess(PluginProcess&& o) noexcept { *this = std::move(o); }
  PluginProcess& operator=(PluginProcess&& o) noexcept;
  PluginProcess(const PluginProcess&) = delete;
  PluginProcess& operator=(const PluginProcess&) = delete;
  ~PluginProcess();

  // Gives the plugin its config: writes what the pipe takes now, without
  // blocking (Finish writes the rest). From here on the plugin acts.
  void Send(std::string config);
  // Sends `config` (unless Send came first), then returns the plugin's
  // stdout once it exits (the call's timeout counts from here). A non-zero
  // exit is an error carrying the plugin's JSON error ("msg", "details",
  // "code") or else its output.
  absl::StatusOr<std::string> Finish(std::string config = {});
  // After Send: returns as soon as the plugin's stdout holds its result (a
  // whole JSON object, not an error document), the process possibly still
  // exiting; Finish then gives its verdict (exit status). A plugin that
  // closes stdout without a result is finished here.
  absl::StatusOr<std::string> AwaitResult();
  // Started and not yet finished.
  bool running() const { return pid_ > 0; }

 private:
  void KillUnused();
  void WriteSome();  // more of config_ to stdin; closes it when all is written
  // Moves config and output until stdout and stderr are closed, the
  // deadline passes (timed_out_), or, with stop_at_result, stdout holds a
  // result (then true).
  bool Pump(bool stop_at_result);
  pid_t pid_ = -1;
  std::string what_;
  std::chrono::milliseconds timeout_{0};
  linux::UniqueFd in_, out_, err_;
  bool sent_ = false;
  std::string config_;
  size_t written_ = 0;
  std::string out_text_, err_text_;
  int64_t deadline_ = 0;  // NowMs() when the call times out; 0: not yet set
  bool timed_out_ = false;
};

// Start + Finish.
absl::StatusOr<std::string> ExecPlugin(const std::string& path, const PluginCall& call);

// The error message of a CNI error document, or "" if `out` is not one.
std::string CniErrorMessage(const std::string& out);

}  // namespace peapod::cri
