#include "cri/images/puller.h"

#include "absl/strings/str_cat.h"
#include "cri/images/image_commit.h"
#include "cri/images/reference.h"

namespace peapod::images {
namespace {

// Fetches the manifest for a platform: follows an index to its entry.
struct Resolved {
  Manifest manifest;
  FetchedManifest raw;
  FetchedManifest index;  // empty body when there was no index
};

absl::StatusOr<Resolved> ResolveManifest(RegistryClient& client, const Reference& ref,
                                         const PullOptions& opts) {
  auto top = client.GetManifest(ref.digest.empty() ? ref.tag : ref.digest);
  if (!top.ok()) return top.status();
  if (!ref.digest.empty() && top->digest != ref.digest) {
    return absl::DataLossError(
        absl::StrCat("manifest digest mismatch: asked ", ref.digest, ", got ", top->digest));
  }
  auto parsed = ParseManifest(top->body, top->media_type);
  if (!parsed.ok()) return parsed.status();
  Resolved r;
  if (!parsed->is_index) {
    r.manifest = *std::move(parsed);
    r.raw = *std::move(top);
    return r;
  }
  auto entry = SelectPlatform(*parsed, opts.os, opts.architecture);
  if (!entry.ok()) return entry.status();
  auto raw = client.GetManifest(entry->digest);
  if (!raw.ok()) return raw.status();
  if (raw->digest != entry->digest) {
    return absl::DataLossError("platform manifest digest mismatch: " + entry->digest);
  }
  // Neither the index entry's type nor the Content-Type may name an index.
  auto m = ParseManifest(raw->body, entry->media_type);
  if (m.ok()) m = ParseManifest(raw->body, raw->media_type);
  if (!m.ok()) return m.status();
  if (m->is_index) return absl::InvalidArgumentError("nested index is not supported");
  r.manifest = *std::move(m);
  r.raw = *std::move(raw);
  r.index = *std::move(top);
  return r;
}

}  // namespace

absl::StatusOr<ImageRecord> Puller::Pull(const std::string& reference, const PullOptions& opts) {
  auto ref = ParseReference(reference);
  if (!ref.ok()) return ref.status();
  auto lease = store_.PullLease();
  if (!lease.ok()) return lease.status();
  absl::Status last = absl::UnavailableError("no registry endpoint for " + ref->domain);
  for (const Endpoint& ep : EndpointsFor(config_, ref->domain)) {
    RegistryClient client(ep, ref->path, opts.auth);
    // 1. Manifest (through an index when there is one).
    auto resolved = ResolveManifest(client, *ref, opts);
    if (!resolved.ok()) {
      last = absl::Status(resolved.status().code(),
                          absl::StrCat(ep.base_url, ": ", resolved.status().message()));
      // A mirror that lacks the image or is down: try the next endpoint.
      if (ep.mirror && (absl::IsNotFound(last) || absl::IsUnavailable(last))) continue;
      return last;
    }
    // 2. Config, then layers and the record.
    auto config = client.GetBlob(resolved->manifest.config.digest, kMaxDocumentBytes);
    if (!config.ok()) return config.status();
    CommitRequest req;
    for (FetchedManifest* doc : {&resolved->raw, &resolved->index}) {
      if (!doc->body.empty()) req.documents.emplace_back(doc->digest, std::move(doc->body));
    }
    req.manifest = resolved->manifest;
    req.manifest_digest = resolved->raw.digest;
    req.index_digest = resolved->index.digest;
    req.config_body = *std::move(config);
    if (!ref->tag.empty()) req.repo_tags.push_back(ref->TagRef());
    req.repo_digests.push_back(
        ref->DigestRef(req.index_digest.empty() ? req.manifest_digest : req.index_digest));
    req.parallel_layers = opts.parallel_layers;
    return CommitImage(store_, req, [&](const Descriptor& blob, const auto& sink) {
      return client.StreamBlob(blob.digest, sink);
    });
  }
  return last;
}

}  // namespace peapod::images
