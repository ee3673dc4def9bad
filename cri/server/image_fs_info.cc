#include <chrono>

#include "cri/server/handlers.h"

namespace peapod::cri {

absl::Status HandleImageFsInfo(Daemon& d, const ::runtime::v1::ImageFsInfoRequest&,
                               ::runtime::v1::ImageFsInfoResponse& resp) {
  absl::StatusOr<images::FsUsage> usage = d.images->Usage();
  if (!usage.ok()) return usage.status();
  ::runtime::v1::FilesystemUsage& fs = *resp.add_image_filesystems();
  fs.set_timestamp(std::chrono::duration_cast<std::chrono::nanoseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count());
  fs.mutable_fs_id()->set_mountpoint(d.images->root());
  fs.mutable_used_bytes()->set_value(usage->bytes);
  fs.mutable_inodes_used()->set_value(usage->inodes);
  return absl::OkStatus();
}

}  // namespace peapod::cri
