// Turns a manifest + config into a stored image: layers unpacked once per
// chain ID (in parallel, streaming from their source into the unpacker while
// the compressed blob is verified and kept), then the image record.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/images/image_store.h"
#include "cri/images/manifest.h"

namespace peapod::images {

// Streams a layer blob's bytes to `sink` (unverified; the caller verifies).
using BlobFetcher = std::function<absl::Status(
    const Descriptor& blob, const std::function<absl::Status(const char*, size_t)>& sink)>;

struct CommitRequest {
  Manifest manifest;  // an image manifest (not an index)
  std::string manifest_digest;
  std::string index_digest;  // may be empty
  std::string config_body;   // verified against manifest.config.digest
  // Manifest and index bodies by digest (verified by the caller), stored
  // once the layers are in.
  std::vector<std::pair<std::string, std::string>> documents;
  std::vector<std::string> repo_tags;
  std::vector<std::string> repo_digests;
  int parallel_layers = 4;
};

// Unpacks missing layers (from stored blobs, else through `fetch`), then
// stores the documents and config and writes the record. Returns the record.
// A failure keeps no document and no blob of a layer that failed.
absl::StatusOr<ImageRecord> CommitImage(ImageStore& store, const CommitRequest& request,
                                        const BlobFetcher& fetch);

}  // namespace peapod::images
