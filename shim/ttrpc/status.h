// absl::Status <-> ttrpc's status message. absl's codes are gRPC's codes, so
// the number goes on the wire unchanged.
#pragma once

#include "absl/status/status.h"
#include "shim/ttrpc/ttrpc.pb.h"

namespace peapod::ttrpc {

// Fills the wire status from an absl status.
inline void StatusToWire(const absl::Status& s, wire::Status* out) {
  out->set_code(static_cast<int>(s.code()));
  out->set_message(std::string(s.message()));
}

// The absl status a wire status stands for (OK for code 0).
inline absl::Status StatusFromWire(const wire::Status& s) {
  int code = s.code();
  if (code < 0 || code > 16) code = static_cast<int>(absl::StatusCode::kUnknown);
  return absl::Status(static_cast<absl::StatusCode>(code), s.message());
}

}  // namespace peapod::ttrpc
