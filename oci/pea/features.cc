// pea features: what this build of pea supports, as runc's features JSON.
#include "oci/pea/command.h"
#include "oci/pea/format.h"

namespace peapod::pea {
namespace {

absl::StatusOr<int> Features(const Context& ctx, const ParsedFlags&) {
  fprintf(ctx.out, "%s\n", FeaturesJson().c_str());
  return 0;
}

}  // namespace

const Command kFeaturesCommand = {
    .name = "features",
    .summary = "show the enabled features",
    .args_usage = "",
    .description =
        "The features command shows the OCI features this build of pea implements, as JSON.",
    .min_args = 0,
    .max_args = 0,
    .run = Features,
};

}  // namespace peapod::pea
