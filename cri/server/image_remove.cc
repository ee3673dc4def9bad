#include "cri/server/handlers.h"
#include "cri/server/image_lookup.h"

namespace peapod::cri {

absl::Status HandleRemoveImage(Daemon& d, const ::runtime::v1::RemoveImageRequest& req,
                               ::runtime::v1::RemoveImageResponse&) {
  absl::StatusOr<std::optional<images::ImageRecord>> im =
      LookupImage(*d.images, req.image().image());
  if (!im.ok()) return im.status();
  if (!*im) return absl::OkStatus();  // CRI: removing an absent image succeeds.
  // By id: every tag and digest of the image goes, as with crictl rmi.
  absl::Status s = d.images->Remove((*im)->id);
  if (absl::IsNotFound(s)) return absl::OkStatus();  // Removed concurrently.
  if (s.ok()) d.log.Info("removed image " + (*im)->id);
  return s;
}

}  // namespace peapod::cri
