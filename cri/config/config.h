// peapodd's configuration: /etc/peapod/peapod.toml. Every key has a default,
// so an empty (or absent) file gives a working daemon.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::cri {

// How much peapodd logs; messages below the level are dropped.
enum class LogLevel { kDebug, kInfo, kWarn, kError };

struct Config {
  // gRPC endpoint (a unix socket path, without "unix://").
  std::string socket_path = "/run/peapod/peapod.sock";
  // Persistent data: images, pod and container records.
  std::string root = "/var/lib/peapod";
  // Volatile data: shim sockets and runtime state, gone at reboot.
  std::string state_dir = "/run/peapod";
  LogLevel log_level = LogLevel::kInfo;
  // containerd-shim-peapod-v2; a bare name is looked up in PATH.
  std::string shim_binary = "containerd-shim-peapod-v2";
  // The pod's infra (pause-like) process; a bare name is looked up in PATH.
  std::string infra_binary = "peapod-infra";
  // Pod shims started ahead of RunPodSandbox (cri/server/shim_spares.h);
  // 0 starts each pod's shim when the pod is made. At most 16.
  int shim_spares = 1;
  // The streaming server (Exec, PortForward): the address and TCP port the
  // URLs that the CRI calls return point at; port 0 takes a free one at start.
  std::string stream_address = "127.0.0.1";
  int stream_port = 0;
  // [cni]: where plugin binaries and network configs live.
  std::vector<std::string> cni_plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  std::string cni_conf_dir = "/etc/cni/net.d";
  // Whether the next CNI pod's attachment is made ahead of it
  // (cri/server/warm_network.h).
  bool cni_warm = true;
  // The [registry] table as TOML text, untouched: the image service's own
  // parser (cri/images) reads mirrors and insecure registries from it.
  std::string registry_toml;
};

// Default location of the configuration file.
inline constexpr std::string_view kDefaultConfigPath = "/etc/peapod/peapod.toml";

// Parses TOML text. `origin` names the source in error messages. Unknown keys
// and wrongly typed values are InvalidArgument errors naming the key.
absl::StatusOr<Config> ParseConfig(std::string_view text, std::string_view origin = "config");

// Reads and parses a file. A missing file is NotFound unless `optional`, in
// which case the defaults are returned.
absl::StatusOr<Config> LoadConfig(const std::string& path, bool optional = false);

// "debug", "info", "warn", "error" ↔ LogLevel.
absl::StatusOr<LogLevel> ParseLogLevel(std::string_view name);
// The name of a log level, as written in the config file.
std::string_view LogLevelName(LogLevel level);

}  // namespace peapod::cri
