// Fuzz target: what a registry (or a user) hands the image service. The
// first byte picks the parser, the rest is its input:
//   0 ParseManifest (index or manifest)  1 ParseImageConfig
//   2 ParseReference                     3 ParseChallenge (WWW-Authenticate)
// Digests and diff_ids name files in the blob store, so an accepted one is
// "sha256:" and 64 lowercase hex digits, nothing else; a parsed reference
// prints to a string that parses back to itself.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "cri/images/manifest.h"
#include "cri/images/reference.h"
#include "cri/images/registry_client.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

void CheckDigest(const std::string& d) {
  Check(d.size() == 71 && d.starts_with("sha256:"));
  for (char c : std::string_view(d).substr(7))
    Check((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  namespace im = peapod::images;
  if (size == 0) return 0;
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 4) {
    case 0: {
      absl::StatusOr<im::Manifest> m = im::ParseManifest(text);
      if (!m.ok()) return 0;
      for (const im::Descriptor& d : m->manifests) CheckDigest(d.digest);
      for (const im::Descriptor& d : m->layers) CheckDigest(d.digest);
      if (!m->config.digest.empty()) CheckDigest(m->config.digest);
      break;
    }
    case 1: {
      absl::StatusOr<im::ImageConfig> c = im::ParseImageConfig(text);
      if (!c.ok()) return 0;
      for (const std::string& d : c->diff_ids) CheckDigest(d);
      break;
    }
    case 2: {
      absl::StatusOr<im::Reference> r = im::ParseReference(text);
      if (!r.ok()) return 0;
      Check(r->path.find("..") == std::string::npos);
      if (!r->digest.empty()) CheckDigest(r->digest);
      absl::StatusOr<im::Reference> again = im::ParseReference(r->String());
      Check(again.ok() && again->String() == r->String());
      break;
    }
    case 3:
      (void)im::ParseChallenge(std::string(text));
      break;
  }
  return 0;
}
