#include "cri/server/handlers.h"
#include "cri/server/image_lookup.h"
#include "cri/util/str.h"
#include "oci/spec/json.h"

namespace peapod::cri {
namespace {

constexpr size_t kMaxConfigBytes = 8 << 20;

json::Value Strings(const std::vector<std::string>& v) {
  json::Array a;
  for (const std::string& s : v) a.emplace_back(s);
  return json::Value(std::move(a));
}

// The verbose "info" document: where the image came from and its config.
absl::StatusOr<std::string> VerboseInfo(images::ImageStore& store, const images::ImageRecord& im) {
  absl::StatusOr<std::string> config = store.blobs().Read(im.config_digest, kMaxConfigBytes);
  if (!config.ok()) return config.status();
  absl::StatusOr<json::Value> parsed = json::Parse(*config);
  if (!parsed.ok()) {
    return absl::DataLossError(
        Cat("image ", im.id, " has an unreadable config: ", StdView(parsed.status().message())));
  }
  json::Value info{json::Object{}};
  info.Set("id", im.id);
  info.Set("manifestDigest", im.manifest_digest);
  if (!im.index_digest.empty()) info.Set("indexDigest", im.index_digest);
  info.Set("chainIds", Strings(im.chain_ids));
  info.Set("imageSpec", *std::move(parsed));
  return json::Write(info);
}

}  // namespace

absl::Status HandleImageStatus(Daemon& d, const ::runtime::v1::ImageStatusRequest& req,
                               ::runtime::v1::ImageStatusResponse& resp) {
  absl::StatusOr<std::optional<images::ImageRecord>> im =
      LookupImage(*d.images, req.image().image());
  if (!im.ok()) return im.status();
  if (!*im) return absl::OkStatus();  // CRI: an absent image is an empty answer.
  ImageToProto(**im, *resp.mutable_image());
  if (req.verbose()) {
    absl::StatusOr<std::string> info = VerboseInfo(*d.images, **im);
    if (!info.ok()) return info.status();
    (*resp.mutable_info())["info"] = *std::move(info);
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
