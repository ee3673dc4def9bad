// Content-addressed blobs under <root>/blobs/sha256/<hex>. A blob is written
// to a temp file, hashed while written, fsynced and renamed into place only
// when digest and size match: a mismatch keeps nothing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "cri/images/digest.h"
#include "cri/images/fs_util.h"

namespace peapod::images {

// Writes one blob; removes its temp file unless committed.
class BlobWriter {
 public:
  BlobWriter(BlobWriter&&) = default;
  BlobWriter& operator=(BlobWriter&&) = default;
  ~BlobWriter();

  // Appends bytes; OutOfRange once more than the expected size arrives.
  absl::Status Write(const void* data, size_t len);
  // Checks digest and size once everything is written (DataLoss on a
  // mismatch); no more writes after it.
  absl::Status Verify();
  // Verifies (unless done), fsyncs and renames into place.
  absl::Status Commit();
  // Bytes written so far.
  uint64_t written() const { return got_.empty() ? hash_.size() : got_size_; }

 private:
  friend class BlobStore;
  BlobWriter(std::string digest, int64_t size, std::string tmp, std::string dest, UniqueFd fd)
      : digest_(std::move(digest)),
        size_(size),
        tmp_(std::move(tmp)),
        dest_(std::move(dest)),
        fd_(std::move(fd)) {}

  std::string digest_;
  int64_t size_;
  std::string tmp_, dest_;
  UniqueFd fd_;
  Sha256 hash_;
  uint64_t got_size_ = 0;
  std::string got_;  // the digest, once verified
  bool done_ = false;
};

class BlobStore {
 public:
  // `root` holds blobs/sha256; `tmp_dir` (same file system) holds partial writes.
  BlobStore(std::string root, std::string tmp_dir);

  // Creates the blob directories.
  absl::Status Init();
  // Path of a blob (which may not exist).
  std::string Path(const std::string& digest) const;
  // Whether a blob is present.
  bool Has(const std::string& digest) const;
  // Size of a present blob; NotFound otherwise.
  absl::StatusOr<uint64_t> Size(const std::string& digest) const;
  // Starts writing a blob; `size` < 0 means unknown.
  absl::StatusOr<BlobWriter> Writer(const std::string& digest, int64_t size);
  // Writes a whole blob from memory (verified).
  absl::Status Put(const std::string& digest, std::string_view data);
  // Reads a blob of at most max_bytes and re-verifies its digest.
  absl::StatusOr<std::string> Read(const std::string& digest, size_t max_bytes) const;
  // Removes a blob; a missing one is fine.
  absl::Status Remove(const std::string& digest);
  // Every stored blob digest.
  std::vector<std::string> List() const;

 private:
  std::string dir_;
  std::string tmp_dir_;
};

}  // namespace peapod::images
