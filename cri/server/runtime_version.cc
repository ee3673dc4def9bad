#include "cri/server/handlers.h"

namespace peapod::cri {

std::string_view PeapodVersion() { return PEAPOD_VERSION; }

absl::Status HandleVersion(Daemon&, const ::runtime::v1::VersionRequest&,
                           ::runtime::v1::VersionResponse& resp) {
  // `version` is the kubelet-facing API version, as other runtimes report it.
  resp.set_version("0.1.0");
  resp.set_runtime_name("peapod");
  resp.set_runtime_version(std::string(PeapodVersion()));
  resp.set_runtime_api_version("v1");
  return absl::OkStatus();
}

}  // namespace peapod::cri
