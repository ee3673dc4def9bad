// Safe unpacking of an image layer (a tar stream, gzip/zstd/uncompressed)
// into a directory in overlayfs' format.
//
// Invariant: every entry is created relative to a directory fd that was
// resolved with openat2(RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS) from the
// layer directory, and the last path component is never followed. So no
// entry, whatever its path ("../x", "/x"), and whatever symlinks the archive
// planted before it, can create or modify anything outside the layer dir.
// Paths with ".." components are rejected outright.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"

namespace peapod::images {

struct UnpackResult {
  std::string diff_id;     // sha256 of the uncompressed tar stream
  uint64_t tar_bytes = 0;  // size of the uncompressed tar stream
  uint64_t entries = 0;    // archive entries processed
};

// Reads a layer tar from `in_fd` (to its end) and unpacks it into the
// directory open at `dir_fd`. Whiteouts become overlay whiteouts: ".wh.X" a
// 0:0 character device X, ".wh..wh..opq" the xattr trusted.overlay.opaque=y
// on its directory. Ownership, modes (setuid too), xattrs (except
// trusted.overlay.*), times, hardlinks, symlinks and device nodes are kept.
// Errors: InvalidArgument for a hostile or malformed archive, DataLoss for a
// corrupt stream, Internal for file-system failures.
absl::StatusOr<UnpackResult> UnpackLayer(int in_fd, int dir_fd);

}  // namespace peapod::images
