// Fuzz target: the peapod.io/host-aliases annotation (any pod author writes
// it) through ParseHostAliases and into /etc/hosts. Whatever is accepted
// must come out as exactly one line per alias, "<ip>\t<name> <name>...",
// with nothing that could start a comment, a second entry or a new line.
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "cri/podfiles/pod_files.h"

namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using peapod::cri::HostAlias;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<HostAlias>> aliases = peapod::cri::ParseHostAliases(text);
  if (!aliases.ok()) {
    Check(!aliases.status().message().empty());
    return 0;
  }
  peapod::cri::PodFilesInput in;
  in.hostname = "pod";
  in.pod_ip = "10.88.0.2";
  in.host_aliases = *aliases;
  absl::StatusOr<std::string> hosts = peapod::cri::HostsFileContent(in);
  Check(hosts.ok());
  std::vector<std::string> lines;
  std::istringstream s(*hosts);
  for (std::string line; std::getline(s, line);) lines.push_back(line);
  Check(lines.size() >= aliases->size());
  size_t first = lines.size() - aliases->size();
  for (size_t i = 0; i < aliases->size(); ++i) {
    const HostAlias& a = (*aliases)[i];
    std::string want = a.ip + "\t";
    for (size_t j = 0; j < a.hostnames.size(); ++j) want += (j ? " " : "") + a.hostnames[j];
    Check(lines[first + i] == want);
    for (unsigned char c : lines[first + i])
      Check((c >= 0x20 && c != 0x7f && c != '#') || c == '\t');
  }
  return 0;
}
