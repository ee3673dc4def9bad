// UpdateRuntimeConfig: the kubelet tells the node's pod CIDR(s), once it
// knows them. Pod addresses come from the CNI config (its IPAM ranges), so
// peapod checks the value and logs it, as CRI-O does; containerd only uses it
// to fill a CNI config template, which peapod does not have.
#include <arpa/inet.h>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "cri/server/handlers.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

// "10.244.1.0/24" or "fd00:1::/64".
bool IsCidr(absl::string_view cidr) {
  size_t slash = cidr.find('/');
  if (slash == absl::string_view::npos) return false;
  std::string ip(cidr.substr(0, slash));
  absl::string_view bits_text = cidr.substr(slash + 1);
  unsigned char buf[16];
  int max_bits = ::inet_pton(AF_INET, ip.c_str(), buf) == 1    ? 32
                 : ::inet_pton(AF_INET6, ip.c_str(), buf) == 1 ? 128
                                                               : -1;
  int bits = -1;
  if (max_bits < 0 || bits_text.empty() || bits_text.size() > 3 ||
      bits_text.find_first_not_of("0123456789") != absl::string_view::npos ||
      !absl::SimpleAtoi(bits_text, &bits)) {
    return false;
  }
  return bits <= max_bits;
}

}  // namespace

absl::Status HandleUpdateRuntimeConfig(Daemon& d,
                                       const ::runtime::v1::UpdateRuntimeConfigRequest& req,
                                       ::runtime::v1::UpdateRuntimeConfigResponse&) {
  const std::string& cidrs = req.runtime_config().network_config().pod_cidr();
  if (cidrs.empty()) return absl::OkStatus();
  // A dual-stack node has one per family, comma-separated.
  for (absl::string_view cidr : absl::StrSplit(cidrs, ',')) {
    if (!IsCidr(cidr)) {
      return absl::InvalidArgumentError(Cat("runtime_config.network_config.pod_cidr: \"",
                                            absl::CHexEscape(cidr), "\" is not a CIDR"));
    }
  }
  d.log.Info(Cat("the node's pod CIDR is ", cidrs,
                 " (pod addresses come from the CNI config's IPAM, not from it)"));
  return absl::OkStatus();
}

}  // namespace peapod::cri
