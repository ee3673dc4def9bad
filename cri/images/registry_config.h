// Registry settings from peapod.toml's [registry] table:
//
//   [registry."docker.io"]
//   mirrors = ["http://127.0.0.1:5000"]   # tried in order, then the host
//   [registry."myreg.local:5000"]
//   insecure = true                        # plain HTTP allowed
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::images {

struct RegistryHost {
  std::vector<std::string> mirrors;  // base URLs ("http://127.0.0.1:5000")
  bool insecure = false;
};

struct RegistryConfig {
  std::map<std::string, RegistryHost> hosts;  // by registry host ("docker.io")
};

// One place to try a pull from.
struct Endpoint {
  std::string base_url;  // "https://registry-1.docker.io", no trailing slash
  bool mirror = false;
};

// Parses the contents of the [registry] table (its keys are host names).
// Unknown keys are InvalidArgument errors naming the key.
absl::StatusOr<RegistryConfig> ParseRegistryConfig(std::string_view registry_table_toml);

// Parses a whole peapod.toml and returns its [registry] part.
absl::StatusOr<RegistryConfig> ParseRegistryConfigFromFile(std::string_view peapod_toml);

// Endpoints for a registry host: its mirrors, then the host itself (HTTPS,
// or HTTP when configured insecure or on localhost / 127.0.0.1 / ::1).
std::vector<Endpoint> EndpointsFor(const RegistryConfig& config, const std::string& host);

}  // namespace peapod::images
