// Image references: parsing and normalisation as docker does it
// ("busybox" → "docker.io/library/busybox:latest").
#pragma once

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace peapod::images {

struct Reference {
  std::string domain;  // "docker.io", "127.0.0.1:5000"
  std::string path;    // "library/busybox"
  std::string tag;     // empty when only a digest was given
  std::string digest;  // "sha256:…" or empty

  // "domain/path".
  std::string Name() const { return domain + "/" + path; }
  // "domain/path:tag" (empty if no tag).
  std::string TagRef() const { return tag.empty() ? "" : Name() + ":" + tag; }
  // "domain/path@digest" for a given digest.
  std::string DigestRef(const std::string& d) const { return Name() + "@" + d; }
  // The full normalised form: name[:tag][@digest].
  std::string String() const;
};

// Parses and normalises a reference. Docker Hub names get "docker.io" and
// "library/"; a reference without tag or digest gets ":latest".
absl::StatusOr<Reference> ParseReference(std::string_view text);

}  // namespace peapod::images
