// peapodd: peapod's CRI server. `peapodd --config /etc/peapod/peapod.toml`.
#include <cstdio>
#include <string>

#include "CLI/CLI.hpp"
#include "cri/config/config.h"
#include "cri/server/daemon.h"
#include "cri/server/daemon_run.h"

int main(int argc, char** argv) {
  CLI::App app{"peapodd: the peapod container runtime's CRI server (runtime.v1 over gRPC)"};
  std::string config_path(peapod::cri::kDefaultConfigPath);
  app.add_option("-c,--config", config_path, "TOML configuration file")->capture_default_str();
  bool show_version = false;
  app.add_flag("-v,--version", show_version, "Print the version and exit");
  CLI11_PARSE(app, argc, argv);
  if (show_version) {
    std::printf("peapodd %.*s\n", static_cast<int>(peapod::cri::PeapodVersion().size()),
                peapod::cri::PeapodVersion().data());
    return 0;
  }
  // The default file is optional (every key has a default); a named one is not.
  bool optional = app.count("--config") == 0;
  absl::StatusOr<peapod::cri::Config> config = peapod::cri::LoadConfig(config_path, optional);
  if (!config.ok()) {
    std::fprintf(stderr, "peapodd: %s\n", config.status().ToString().c_str());
    return 2;
  }
  return peapod::cri::RunDaemon(std::move(*config));
}
