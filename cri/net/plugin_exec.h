// Running one CNI plugin binary: environment, config on stdin, result or
// error JSON on stdout. Internal to cri/net.
#pragma once

#include <sys/types.h>

#include <chrono>
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
// config waits for. Destroyed without Finish, it is killed and reaped,
// never having acted.
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

  // Writes `config` to its stdin and returns its stdout once it exits (the
  // call's timeout counts from here). A non-zero exit is an error carrying
  // the plugin's JSON error ("msg", "details", "code") or else its output.
  absl::StatusOr<std::string> Finish(const std::string& config);

 private:
  void KillUnused();
  pid_t pid_ = -1;
  std::string what_;
  std::chrono::milliseconds timeout_{0};
  linux::UniqueFd in_, out_, err_;
};

// Start + Finish.
absl::StatusOr<std::string> ExecPlugin(const std::string& path, const PluginCall& call);

// The error message of a CNI error document, or "" if `out` is not one.
std::string CniErrorMessage(const std::string& out);

}  // namespace peapod::cri
