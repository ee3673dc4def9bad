// Pulls images from registries (Registry HTTP API v2) into an ImageStore.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "cri/images/image_store.h"
#include "cri/images/registry_client.h"
#include "cri/images/registry_config.h"

namespace peapod::images {

struct PullOptions {
  AuthConfig auth;
  std::string os = "linux";
  std::string architecture = "amd64";
  int parallel_layers = 4;
};

class Puller {
 public:
  Puller(ImageStore& store, RegistryConfig config) : store_(store), config_(std::move(config)) {}

  // Pulls `reference` (normalised: "busybox" is docker.io/library/busybox:latest),
  // trying the host's mirrors first. Returns the stored image.
  absl::StatusOr<ImageRecord> Pull(const std::string& reference, const PullOptions& options = {});

 private:
  ImageStore& store_;
  RegistryConfig config_;
};

}  // namespace peapod::images
