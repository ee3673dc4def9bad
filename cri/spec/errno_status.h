// An errno as an absl::Status, for cri/spec's file reads.
#pragma once

#include <string.h>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace peapod::cri::spec {

inline absl::Status ErrnoStatus(int err, absl::string_view what) {
  return absl::Status(absl::ErrnoToStatusCode(err), absl::StrCat(what, ": ", strerror(err)));
}

}  // namespace peapod::cri::spec
