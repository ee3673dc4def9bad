// OCI / Docker image documents: index (manifest list), manifest, config.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::images {

inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kDockerList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kDockerManifest =
    "application/vnd.docker.distribution.manifest.v2+json";
// The Accept header for manifest requests.
inline constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json, "
    "application/vnd.docker.distribution.manifest.v2+json";
// Manifests and configs are read into memory, at most this big.
inline constexpr size_t kMaxDocumentBytes = 4 << 20;

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
  std::string os, architecture, variant;  // index entries only
};

// Either an index (manifests set) or an image manifest (config + layers).
struct Manifest {
  bool is_index = false;
  std::vector<Descriptor> manifests;
  Descriptor config;
  std::vector<Descriptor> layers;
};

// Parses an index or manifest. Rejected (InvalidArgument): a document with
// both "manifests" and "layers"/"config"; one whose own "mediaType", or the
// `declared_media_type` it was served or referenced with (Content-Type, a
// descriptor's mediaType; ignored unless one of the four types above),
// names the other kind of document; an unsupported schema (Docker schema
// 1); a layer with an unknown media type.
absl::StatusOr<Manifest> ParseManifest(std::string_view body,
                                       std::string_view declared_media_type = "");

// Picks the index entry for os/architecture (variant ignored unless given).
absl::StatusOr<Descriptor> SelectPlatform(const Manifest& index, std::string_view os = "linux",
                                          std::string_view architecture = "amd64");

struct ImageConfig {
  std::vector<std::string> diff_ids;
  std::string user;
  // What a container runs by default (config.Entrypoint, Cmd, Env "K=V",
  // WorkingDir, StopSignal "SIGQUIT"/"3"); empty when the image has none.
  std::vector<std::string> entrypoint, cmd, env;
  std::string working_dir;
  std::string stop_signal;
};

// Parses an image config; needs rootfs.diff_ids. null lists are empty.
absl::StatusOr<ImageConfig> ParseImageConfig(std::string_view body);

}  // namespace peapod::images
