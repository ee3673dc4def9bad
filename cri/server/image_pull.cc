#include "cri/images/puller.h"
#include "cri/server/handlers.h"
#include "cri/server/image_lookup.h"

namespace peapod::cri {

absl::Status HandlePullImage(Daemon& d, const ::runtime::v1::PullImageRequest& req,
                             ::runtime::v1::PullImageResponse& resp) {
  const std::string& ref = req.image().image();
  if (absl::Status s = ValidateImageRef(ref); !s.ok()) return s;
  images::PullOptions options;
  const ::runtime::v1::AuthConfig& auth = req.auth();
  options.auth = {.username = auth.username(),
                  .password = auth.password(),
                  .auth = auth.auth(),
                  .identity_token = auth.identity_token(),
                  .registry_token = auth.registry_token()};
  images::Puller puller(*d.images, d.registry);
  absl::StatusOr<images::ImageRecord> im = puller.Pull(ref, options);
  if (!im.ok()) return im.status();
  d.log.Info("pulled " + ref + " as " + im->id);
  resp.set_image_ref(im->id);
  return absl::OkStatus();
}

}  // namespace peapod::cri
