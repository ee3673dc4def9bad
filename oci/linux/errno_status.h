// absl::Status from errno, keeping the kernel's text.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include "absl/strings/string_view.h"

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"

namespace peapod::linux {

// An error status "<what>: <strerror(err)>" with a code chosen from errno.
inline absl::Status ErrnoStatus(int err, absl::string_view what) {
  std::string msg = absl::StrCat(what, ": ", std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case EEXIST:
      return absl::AlreadyExistsError(msg);
    case EPERM:
    case EACCES:
      return absl::PermissionDeniedError(msg);
    case EINVAL:
    case ENOTDIR:
    case ELOOP:
    case EXDEV:
      return absl::InvalidArgumentError(msg);
    case ESRCH:
      return absl::NotFoundError(msg);
    default:
      return absl::InternalError(msg);
  }
}

// ErrnoStatus for the current errno.
inline absl::Status ErrnoStatus(absl::string_view what) { return ErrnoStatus(errno, what); }

// Prefixes a status message with context, keeping its code.
inline absl::Status Annotate(const absl::Status& st, absl::string_view context) {
  if (st.ok()) return st;
  return absl::Status(st.code(), absl::StrCat(context, ": ", st.message()));
}

}  // namespace peapod::linux

#define PEAPOD_RETURN_IF_ERROR(expr)                                           \
  do {                                                                         \
    if (absl::Status _peapod_st = (expr); !_peapod_st.ok()) return _peapod_st; \
  } while (0)

#define PEAPOD_CONCAT_INNER(a, b) a##b
#define PEAPOD_CONCAT(a, b) PEAPOD_CONCAT_INNER(a, b)
#define PEAPOD_ASSIGN_OR_RETURN(lhs, expr) \
  PEAPOD_ASSIGN_OR_RETURN_IMPL(PEAPOD_CONCAT(_peapod_or_, __LINE__), lhs, expr)
#define PEAPOD_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(*tmp)
