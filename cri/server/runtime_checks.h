// Health checks behind the Status RPC, as plain functions of the config.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "cri/config/config.h"

namespace peapod::cri {

// OK when peapodd can run pods: its root and state directories are writable
// directories. Otherwise FailedPrecondition saying what is wrong.
absl::Status CheckRuntimeReady(const Config& c);
// OK when the CNI config directory holds a network config (*.conf,
// *.conflist, *.json); otherwise FailedPrecondition naming the directory.
absl::Status CheckNetworkReady(const Config& c);
// The configuration as a JSON object, for Status' verbose info.
std::string ConfigInfoJson(const Config& c);

}  // namespace peapod::cri
