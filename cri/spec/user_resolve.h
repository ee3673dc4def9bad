// Resolves a container's uid, gid and supplementary groups from its security
// context, the image's USER and the image's own /etc/passwd and /etc/group.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/spec/container_spec_input.h"

namespace peapod::cri::spec {

struct ResolvedUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  std::string name;  // from the image's /etc/passwd; empty when unknown
  std::string home;  // from the image's /etc/passwd; empty when unknown
};

// Reads `path` (absolute, inside the container) from the directory `root`
// with openat2(RESOLVE_IN_ROOT): symlinks and ".." cannot leave `root`.
// Returns nullopt when the file does not exist; only regular files of at
// most `max_bytes` are read.
absl::StatusOr<std::optional<std::string>> ReadFileInRoot(const std::string& root,
                                                          const std::string& path,
                                                          size_t max_bytes = 4 << 20);

// The user a container runs as. Order: run_as_user / run_as_username, else
// the image's USER, else root. Names resolve in the rootfs's /etc/passwd and
// /etc/group; an unknown name, an id outside [0, 2^31) or run_as_group
// without a user is InvalidArgument (never root by default).
absl::StatusOr<ResolvedUser> ResolveUser(const std::string& rootfs, const SecurityInput& security,
                                         const std::string& image_user);

}  // namespace peapod::cri::spec
