#include "shim/runtime_choice.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "github.com/containerd/containerd/runtime/v2/runc/options/oci.pb.h"
#include "oci/linux/unique_fd.h"

namespace peapod::shim {
namespace {

constexpr char kRuncOptions[] = "containerd.runc.v1.Options";
constexpr char kChoiceFile[] = "/peapod-runtime";

}  // namespace

absl::StatusOr<std::string> RuntimeBinaryOf(const containerd::task::v2::CreateTaskRequest& req) {
  if (!req.has_options() || !absl::EndsWith(req.options().type_url(), kRuncOptions)) return "";
  containerd::runc::v1::Options o;
  if (!o.ParseFromString(req.options().value())) {
    return absl::InvalidArgumentError(absl::StrCat("create ", req.id(), ": undecodable ",
                                                   kRuncOptions, " in the request's options"));
  }
  if (o.systemd_cgroup()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "create ", req.id(), ": runc option SystemdCgroup is not supported by this shim"));
  }
  return o.binary_name();
}

absl::Status WriteRuntimeChoice(const std::string& bundle, const std::string& binary) {
  std::string path = bundle + kChoiceFile;
  linux::UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!fd || write(fd.get(), binary.data(), binary.size()) != static_cast<ssize_t>(binary.size())) {
    return absl::InternalError(absl::StrCat("write ", path, ": ", strerror(errno)));
  }
  return absl::OkStatus();
}

std::string ReadRuntimeChoice(const std::string& bundle, const std::string& fallback) {
  linux::UniqueFd fd(open((bundle + kChoiceFile).c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return fallback;
  std::string out;
  char buf[512];
  for (ssize_t n; (n = read(fd.get(), buf, sizeof(buf))) > 0;) out.append(buf, n);
  return out.empty() ? fallback : out;
}

}  // namespace peapod::shim
