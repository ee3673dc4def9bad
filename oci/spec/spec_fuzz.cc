// Fuzz target: any bytes through ParseSpec (config.json). A spec that
// parses must serialize to JSON that parses again, to the same JSON.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "oci/spec/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<peapod::oci::Spec> spec = peapod::oci::ParseSpec(text);
  if (!spec.ok()) return 0;
  std::string once = peapod::oci::SerializeSpec(*spec);
  absl::StatusOr<peapod::oci::Spec> again = peapod::oci::ParseSpec(once);
  if (!again.ok() || peapod::oci::SerializeSpec(*again) != once) std::abort();
  return 0;
}
