// RPC handlers: plain functions from a request to a response and a status,
// one per file, with no gRPC types in their signatures beyond the messages.
#pragma once

#include "absl/status/status.h"
#include "cri/server/daemon.h"
#include "proto/cri_api.h"

namespace peapod::cri {

// Version: runtime name and versions.
absl::Status HandleVersion(Daemon& d, const ::runtime::v1::VersionRequest& req,
                           ::runtime::v1::VersionResponse& resp);
// Status: RuntimeReady and NetworkReady conditions, plus config when verbose.
absl::Status HandleStatus(Daemon& d, const ::runtime::v1::StatusRequest& req,
                          ::runtime::v1::StatusResponse& resp);

}  // namespace peapod::cri
