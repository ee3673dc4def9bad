#include "cri/server/handlers.h"
#include "cri/server/image_lookup.h"

namespace peapod::cri {

absl::Status HandleListImages(Daemon& d, const ::runtime::v1::ListImagesRequest& req,
                              ::runtime::v1::ListImagesResponse& resp) {
  const std::string& filter = req.filter().image().image();
  if (filter.empty()) {
    for (const images::ImageRecord& im : d.images->List()) ImageToProto(im, *resp.add_images());
    return absl::OkStatus();
  }
  absl::StatusOr<std::optional<images::ImageRecord>> im = LookupImage(*d.images, filter);
  if (!im.ok()) return im.status();
  if (*im) ImageToProto(**im, *resp.add_images());
  return absl::OkStatus();
}

}  // namespace peapod::cri
