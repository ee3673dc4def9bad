// The image store under a root directory (default /var/lib/peapod):
//
//   blobs/sha256/<hex>       manifests, configs, compressed layers
//   layers/<chainhex>/diff   unpacked layers, one per chain ID, shared
//   layers/<chainhex>/layer.json
//   images/<confighex>.json  image records (id = config digest)
//   containers/<id>/{upper,work,rootfs,image}  overlay root filesystems
//   locks/                   flock files (per digest; store.lock for GC)
//   tmp/<session>/           partial writes; sessions of dead processes are
//                            removed when a store is opened
//
// Every record and layer appears by rename, so a crash leaves either the old
// or the new state plus garbage under tmp/ (and, cut short while a tag moves
// between images, the tag on both records: Open keeps it on the newer one).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/images/blob_store.h"
#include "cri/images/fs_util.h"
#include "cri/images/manifest.h"
#include "cri/images/unpack.h"

namespace peapod::images {

struct ImageRecord {
  std::string id;                         // config digest
  std::vector<std::string> repo_tags;     // "docker.io/library/busybox:latest"
  std::vector<std::string> repo_digests;  // "docker.io/library/busybox@sha256:…"
  std::string manifest_digest;            // the platform's manifest
  std::string index_digest;               // the index / manifest list it came from, if any
  std::string config_digest;
  std::vector<std::string> layer_digests;  // compressed blobs, base first
  std::vector<std::string> diff_ids;
  std::vector<std::string> chain_ids;
  uint64_t size = 0;  // config + compressed layers, as the registry serves them
  std::string user;   // config.config.User ("", "1000", "app", "app:grp")
};

// User from an image's USER: a uid when numeric, else a name.
struct ImageUser {
  std::optional<int64_t> uid;
  std::string username;
};
// Splits USER ("1000:1000", "app", "app:grp") the way CRI ImageStatus needs it.
ImageUser ParseImageUser(const std::string& user);

// An image record as JSON text, and back.
std::string EncodeImageRecord(const ImageRecord& image);
absl::StatusOr<ImageRecord> DecodeImageRecord(std::string_view text);

struct FsUsage {
  uint64_t bytes = 0;
  uint64_t inodes = 0;
};

class ImageStore {
 public:
  // Opens (creating) a store, removing temp files of dead sessions.
  static absl::StatusOr<std::unique_ptr<ImageStore>> Open(const std::string& root);

  const std::string& root() const { return root_; }
  BlobStore& blobs() { return blobs_; }
  // This session's temp directory (same file system as the store).
  const std::string& tmp_dir() const { return tmp_; }

  // A shared hold on the store that keeps garbage collection away while a
  // pull writes blobs and layers no record refers to yet.
  absl::StatusOr<FileLock> PullLease();
  // An exclusive per-digest lock (two pulls of one thing do it once).
  absl::StatusOr<FileLock> LockDigest(const std::string& digest);

  // Whether the layer with this chain ID is unpacked.
  bool HasLayer(const std::string& chain_id) const;
  // The unpacked layer directory of a chain ID.
  std::string LayerDir(const std::string& chain_id) const;
  // Unpacks a layer unless present: `unpack` fills a fresh directory; its
  // diff ID must equal `diff_id` (else DataLoss and nothing is kept).
  // Returns whether this call added the layer.
  absl::StatusOr<bool> AddLayer(const std::string& chain_id, const std::string& diff_id,
                                const std::function<absl::StatusOr<UnpackResult>(int)>& unpack);

  // Stores an image record; its tags move away from any other image.
  absl::Status PutImage(const ImageRecord& image);
  // Finds an image by id, id prefix (≥ 12 hex), tag or digest reference.
  absl::StatusOr<ImageRecord> Resolve(const std::string& ref) const;
  // The image's config document (entrypoint, cmd, env, ...) from its blob.
  absl::StatusOr<ImageConfig> Config(const ImageRecord& image) const;
  // All images, optionally only those matching a reference (see Resolve).
  std::vector<ImageRecord> List() const;
  // Removes an image (all its names) and then unreferenced layers and blobs.
  // FailedPrecondition while a container rootfs uses it.
  absl::Status Remove(const std::string& ref);
  // Bytes and inodes used under the store (CRI ImageFsInfo).
  absl::StatusOr<FsUsage> Usage() const;

  // Mounts an overlay root filesystem for a container from an image's
  // layers; returns the rootfs path. Idempotent for the same container.
  absl::StatusOr<std::string> Mount(const std::string& container_id, const std::string& image_ref);
  // Unmounts and deletes a container's rootfs, upper and work dirs.
  absl::Status Unmount(const std::string& container_id);

 private:
  explicit ImageStore(std::string root);
  absl::Status Init();
  absl::StatusOr<ImageRecord> LoadRecord(const std::string& path) const;
  absl::Status WriteRecord(const ImageRecord& image);
  absl::Status CollectGarbage();
  absl::Status RepairTags();
  std::vector<std::string> ContainerImages() const;

  std::string root_;
  std::string tmp_;
  BlobStore blobs_;
  std::optional<FileLock> session_lock_;
};

}  // namespace peapod::images
