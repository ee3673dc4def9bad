// Shared by the ImageService handlers: finding an image by the reference a
// CRI ImageSpec carries, and the one image record → CRI Image translation.
#pragma once

#include <optional>
#include <string_view>

#include "absl/status/statusor.h"
#include "cri/images/image_store.h"
#include "proto/cri_api.h"

namespace peapod::cri {

// Checks that `ref` is an image id (optionally "sha256:"-prefixed hex, at
// least 12 digits when partial) or a parseable reference; InvalidArgument if not.
absl::Status ValidateImageRef(std::string_view ref);

// Finds an image by id, id prefix, tag or digest. An unknown image is
// nullopt (CRI treats it as "not present", not as an error); an empty or
// malformed reference is InvalidArgument.
absl::StatusOr<std::optional<images::ImageRecord>> LookupImage(const images::ImageStore& store,
                                                               std::string_view ref);

// Image record → CRI Image (uid or username from the image config's USER).
void ImageToProto(const images::ImageRecord& im, ::runtime::v1::Image& out);

}  // namespace peapod::cri
