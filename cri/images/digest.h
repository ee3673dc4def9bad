// Content digests ("sha256:<64 hex>") and an incremental SHA-256 hasher.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace peapod::images {

// Checks that `digest` is "sha256:" followed by 64 lowercase hex digits.
absl::Status ValidateDigest(std::string_view digest);

// The hex part of a valid digest ("sha256:ab.." → "ab..").
std::string DigestHex(std::string_view digest);

// An incremental SHA-256 (OpenSSL EVP) that also counts bytes.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  // Adds bytes to the hash.
  void Update(const void* data, size_t len);
  // Finishes and returns "sha256:<hex>"; call once.
  std::string Digest();
  // Bytes hashed so far.
  uint64_t size() const { return size_; }

 private:
  struct Ctx;
  std::unique_ptr<Ctx> ctx_;
  uint64_t size_ = 0;
};

// "sha256:<hex>" of a buffer.
std::string DigestOf(std::string_view data);

// Chain ID of a layer: for the first layer its diff ID; otherwise
// sha256(parent_chain_id + " " + diff_id), as in the OCI image spec.
std::string ChainId(std::string_view parent_chain_id, std::string_view diff_id);

}  // namespace peapod::images
