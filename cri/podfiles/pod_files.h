// The pod's own /etc/hosts, /etc/resolv.conf and /etc/hostname: built from
// the pod config, validated strictly (hostAliases come from an annotation any
// pod author controls), and written atomically into the pod's directory, from
// where every container of the pod bind-mounts them.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::cri {

// The pod annotation carrying hostAliases, JSON as in a PodSpec.
inline constexpr std::string_view kHostAliasesAnnotation = "peapod.io/host-aliases";

struct HostAlias {
  std::string ip;
  std::vector<std::string> hostnames;
};

// CRI DNSConfig.
struct DnsConfig {
  std::vector<std::string> servers;
  std::vector<std::string> searches;
  std::vector<std::string> options;
};

struct PodFilesInput {
  std::string hostname;
  std::string pod_ip;  // empty: no "<ip> <hostname>" line
  std::vector<HostAlias> host_aliases;
  std::optional<DnsConfig> dns;  // nullopt (or all empty): the host's resolver
  std::string host_resolv_conf = "/etc/resolv.conf";
};

// Where the files live inside a pod directory.
struct PodFilePaths {
  std::string hosts, resolv_conf, hostname;
};
PodFilePaths PodFilePathsIn(const std::string& pod_dir);

// Parses and validates the host-aliases annotation: an array of
// {"ip": "...", "hostnames": ["...", ...]}. InvalidArgument naming the entry.
absl::StatusOr<std::vector<HostAlias>> ParseHostAliases(std::string_view json_text);

// Checks one name: RFC 1123 (labels of letters, digits and '-', not starting
// or ending with '-', 1-63 bytes; at most 253 bytes). The error says what is
// wrong (whitespace, control character, '#', ...). `what` names it.
absl::Status ValidateHostname(std::string_view name, std::string_view what);
// Checks an IPv4 or IPv6 address.
absl::Status ValidateIp(std::string_view ip, std::string_view what);

// The file contents. They validate their inputs (InvalidArgument).
absl::StatusOr<std::string> HostsFileContent(const PodFilesInput& in);
absl::StatusOr<std::string> ResolvConfContent(const PodFilesInput& in);
absl::StatusOr<std::string> HostnameFileContent(const PodFilesInput& in);

// Builds all three and writes them into pod_dir (each atomically, mode
// 0644). Nothing is written if any input is invalid.
absl::Status WritePodFiles(const std::string& pod_dir, const PodFilesInput& in);
// Removes the three files (missing ones are fine).
absl::Status RemovePodFiles(const std::string& pod_dir);

}  // namespace peapod::cri
