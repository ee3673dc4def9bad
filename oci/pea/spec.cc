// pea spec: writes a default config.json into the bundle directory.
#include <fcntl.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "oci/linux/unique_fd.h"
#include "oci/pea/command.h"
#include "oci/spec/spec.h"

namespace peapod::pea {
namespace {

constexpr FlagSpec kSpecFlags[] = {
    {"bundle", "b", FlagKind::kValue, "path to the root of the bundle directory"},
    {"rootless", "", FlagKind::kBool,
     "generate a configuration for a rootless container (not supported)"},
};

absl::StatusOr<int> Spec(const Context&, const ParsedFlags& flags) {
  if (flags.Bool("rootless")) return absl::UnimplementedError("rootless specs are not supported");
  std::string dir = flags.Value("bundle", ".");
  std::string path = dir + "/config.json";
  linux::UniqueFd fd(open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644));
  if (!fd) {
    if (errno == EEXIST)
      return absl::AlreadyExistsError("File config.json exists. Remove it first");
    return absl::ErrnoToStatus(errno, absl::StrCat("create ", path));
  }
  std::string text = oci::SerializeSpec(oci::DefaultSpec(), /*pretty=*/true) + "\n";
  if (write(fd.get(), text.data(), text.size()) != static_cast<ssize_t>(text.size())) {
    int err = errno;
    unlink(path.c_str());
    return absl::ErrnoToStatus(err, absl::StrCat("write ", path));
  }
  return 0;
}

}  // namespace

const Command kSpecCommand = {
    .name = "spec",
    .summary = "create a new specification file",
    .args_usage = "",
    .description =
        "The spec command creates the new specification file named \"config.json\" for\n"
        "the bundle (runc's default: a shell in rootfs/, with a terminal).",
    .flags = kSpecFlags,
    .min_args = 0,
    .max_args = 0,
    .run = Spec,
};

}  // namespace peapod::pea
