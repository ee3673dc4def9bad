#include "cri/server/image_lookup.h"

#include <algorithm>
#include <string>

#include "cri/images/reference.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

bool IsLowerHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

absl::Status ValidateImageRef(std::string_view ref) {
  if (ref.empty()) return absl::InvalidArgumentError("image reference must not be empty");
  std::string_view hex = ref.starts_with("sha256:") ? ref.substr(7) : ref;
  if (IsLowerHex(hex) && hex.size() >= 12 && hex.size() <= 64) return absl::OkStatus();
  if (ref.starts_with("sha256:")) {
    return absl::InvalidArgumentError(Cat("invalid image id \"", ref, "\""));
  }
  absl::StatusOr<images::Reference> parsed = images::ParseReference(ref);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        Cat("invalid image reference \"", ref, "\": ", StdView(parsed.status().message())));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::optional<images::ImageRecord>> LookupImage(const images::ImageStore& store,
                                                               std::string_view ref) {
  if (absl::Status s = ValidateImageRef(ref); !s.ok()) return s;
  absl::StatusOr<images::ImageRecord> im = store.Resolve(std::string(ref));
  if (absl::IsNotFound(im.status())) return std::nullopt;
  if (!im.ok()) return im.status();
  return *std::move(im);
}

void ImageToProto(const images::ImageRecord& im, ::runtime::v1::Image& out) {
  out.set_id(im.id);
  for (const std::string& t : im.repo_tags) out.add_repo_tags(t);
  for (const std::string& d : im.repo_digests) out.add_repo_digests(d);
  out.set_size(im.size);
  images::ImageUser user = images::ParseImageUser(im.user);
  if (user.uid) {
    out.mutable_uid()->set_value(*user.uid);
  } else {
    out.set_username(user.username);
  }
  out.mutable_spec()->set_image(im.id);
  out.set_pinned(false);
}

}  // namespace peapod::cri
