// Fuzz target: a CNI plugin's stdout through ParseCniResult (every
// supported cniVersion). An accepted result's IPs are addresses without a
// prefix, and the primary one is among them.
#include <arpa/inet.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "cri/net/cni.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<peapod::cri::CniResult> r = peapod::cri::ParseCniResult(text);
  if (!r.ok()) return 0;
  std::vector<std::string> ips = r->AllIps();
  std::string primary = r->PrimaryIp();
  if (!primary.empty() && std::find(ips.begin(), ips.end(), primary) == ips.end()) std::abort();
  for (const std::string& ip : ips) {
    unsigned char buf[16];
    if (inet_pton(AF_INET, ip.c_str(), buf) != 1 && inet_pton(AF_INET6, ip.c_str(), buf) != 1) {
      std::abort();
    }
  }
  return 0;
}
