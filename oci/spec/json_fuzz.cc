// Fuzz target: any bytes through json::Parse. What parses must write back
// as JSON that parses to an equal value, compact and pretty alike.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "oci/spec/json.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<peapod::json::Value> v = peapod::json::Parse(text);
  if (!v.ok()) return 0;
  for (bool pretty : {false, true}) {
    absl::StatusOr<peapod::json::Value> again =
        peapod::json::Parse(peapod::json::Write(*v, pretty));
    if (!again.ok() || !(*again == *v)) std::abort();
  }
  return 0;
}
