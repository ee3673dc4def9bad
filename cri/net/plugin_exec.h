// Running one CNI plugin binary: environment, config on stdin, result or
// error JSON on stdout. Internal to cri/net.
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

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

// Runs the plugin and returns its stdout. A non-zero exit is an error carrying
// the plugin's JSON error ("msg", "details", "code") or else its output.
absl::StatusOr<std::string> ExecPlugin(const std::string& path, const PluginCall& call);

// The error message of a CNI error document, or "" if `out` is not one.
std::string CniErrorMessage(const std::string& out);

}  // namespace peapod::cri
