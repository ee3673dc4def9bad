// Imports images without a registry: an OCI image layout directory, or a
// docker-archive tar (`docker save`: manifest.json + config + layer tars).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/images/image_store.h"

namespace peapod::images {

// Imports every image an OCI layout's index.json lists (linux/amd64 from
// nested indexes). Tags come from org.opencontainers.image.ref.name: a full
// reference is used as is, a bare tag is appended to `name` (if given).
absl::StatusOr<std::vector<ImageRecord>> ImportOciLayout(ImageStore& store, const std::string& dir,
                                                         const std::string& name = "");

// Imports a docker-archive tar (gzip/zstd/plain), tags from its RepoTags.
absl::StatusOr<std::vector<ImageRecord>> ImportDockerArchive(ImageStore& store,
                                                             const std::string& path);

}  // namespace peapod::images
