// Validation and contents of the pod files.
#include <arpa/inet.h>
#include <unistd.h>

#include <cerrno>

#include "cri/podfiles/pod_files.h"
#include "cri/util/str.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"
#include "oci/spec/json.h"

namespace peapod::cri {
namespace {

constexpr size_t kMaxAliases = 1000;
constexpr size_t kMaxNamesPerAlias = 100;

// A printable rendering of untrusted text for error messages.
std::string Quote(std::string_view s) {
  std::string out = "\"";
  for (unsigned char c : s.substr(0, 100)) {
    if (c < 0x20 || c == 0x7f) {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > 100) out += "...";
  return out + "\"";
}

// Whitespace, control characters and '#' break a line-oriented file.
absl::Status CheckLineSafe(std::string_view s, std::string_view what) {
  for (unsigned char c : s) {
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f') {
      return absl::InvalidArgumentError(Cat(what, " ", Quote(s), " contains whitespace"));
    }
    if (c < 0x20 || c == 0x7f) {
      return absl::InvalidArgumentError(Cat(what, " ", Quote(s), " contains a control character"));
    }
    if (c == '#') return absl::InvalidArgumentError(Cat(what, " ", Quote(s), " contains '#'"));
  }
  return absl::OkStatus();
}

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

std::string Join(const std::vector<std::string>& v, std::string_view sep) {
  std::string out;
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) out += sep;
    out += v[i];
  }
  return out;
}

}  // namespace

PodFilePaths PodFilePathsIn(const std::string& pod_dir) {
  return {Cat(pod_dir, "/hosts"), Cat(pod_dir, "/resolv.conf"), Cat(pod_dir, "/hostname")};
}

absl::Status ValidateHostname(std::string_view name, std::string_view what) {
  PEAPOD_RETURN_IF_ERROR(CheckLineSafe(name, what));
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        Cat(what, " ", Quote(name), " is not an RFC 1123 host name: ", why));
  };
  if (name.empty()) return bad("empty");
  if (name.size() > 253) return bad("longer than 253 characters");
  size_t start = 0;
  while (start <= name.size()) {
    size_t dot = name.find('.', start);
    if (dot == std::string_view::npos) dot = name.size();
    std::string_view label = name.substr(start, dot - start);
    if (label.empty()) return bad("empty label");
    if (label.size() > 63) return bad("a label is longer than 63 characters");
    for (char c : label) {
      if (!IsAlnum(c) && c != '-') return bad(Cat("character '", c, "' not allowed"));
    }
    if (label.front() == '-' || label.back() == '-') {
      return bad("a label starts or ends with '-'");
    }
    start = dot + 1;
  }
  return absl::OkStatus();
}

absl::Status ValidateIp(std::string_view ip, std::string_view what) {
  PEAPOD_RETURN_IF_ERROR(CheckLineSafe(ip, what));
  std::string s(ip);
  unsigned char buf[16];
  if (::inet_pton(AF_INET, s.c_str(), buf) == 1 || ::inet_pton(AF_INET6, s.c_str(), buf) == 1) {
    return absl::OkStatus();
  }
  return absl::InvalidArgumentError(Cat(what, " ", Quote(ip), " is not an IP address"));
}

absl::StatusOr<std::vector<HostAlias>> ParseHostAliases(std::string_view json_text) {
  const std::string origin = Cat("annotation ", kHostAliasesAnnotation);
  auto v = json::Parse(json_text);
  if (!v.ok()) return absl::InvalidArgumentError(Cat(origin, ": ", v.status().message()));
  json::Reader r(*v, "$");
  std::vector<HostAlias> out;
  absl::Status st = [&]() -> absl::Status {
    PEAPOD_ASSIGN_OR_RETURN(auto entries, r.Elements());
    if (entries.size() > kMaxAliases) return r.Error(Cat("more than ", kMaxAliases, " entries"));
    for (size_t i = 0; i < entries.size(); ++i) {
      const json::Reader& e = entries[i];
      PEAPOD_ASSIGN_OR_RETURN(auto members, e.Members());
      for (const auto& [key, _] : members) {
        if (key != "ip" && key != "hostnames") {
          return e.Error(Cat("unknown member ", Quote(key), " (want ip, hostnames)"));
        }
      }
      HostAlias a;
      PEAPOD_ASSIGN_OR_RETURN(json::Reader ip, e.Require("ip"));
      PEAPOD_ASSIGN_OR_RETURN(a.ip, ip.String());
      std::string entry = Cat("entry ", i, " (ip ", Quote(a.ip), ")");
      PEAPOD_RETURN_IF_ERROR(ValidateIp(a.ip, Cat(entry, ": ip")));
      PEAPOD_ASSIGN_OR_RETURN(json::Reader names, e.Require("hostnames"));
      PEAPOD_ASSIGN_OR_RETURN(a.hostnames, names.StringArray());
      if (a.hostnames.empty()) return absl::InvalidArgumentError(Cat(entry, ": no hostnames"));
      if (a.hostnames.size() > kMaxNamesPerAlias) {
        return absl::InvalidArgumentError(
            Cat(entry, ": more than ", kMaxNamesPerAlias, " hostnames"));
      }
      for (size_t j = 0; j < a.hostnames.size(); ++j) {
        PEAPOD_RETURN_IF_ERROR(ValidateHostname(a.hostnames[j], Cat(entry, ": hostname ", j)));
      }
      out.push_back(std::move(a));
    }
    return absl::OkStatus();
  }();
  if (!st.ok()) return absl::InvalidArgumentError(Cat(origin, ": ", st.message()));
  return out;
}

absl::StatusOr<std::string> HostsFileContent(const PodFilesInput& in) {
  std::string out =
      "127.0.0.1\tlocalhost\n"
      "::1\tlocalhost ip6-localhost ip6-loopback\n"
      "fe00::0\tip6-localnet\n"
      "fe00::0\tip6-mcastprefix\n"
      "fe00::1\tip6-allnodes\n"
      "fe00::2\tip6-allrouters\n";
  if (!in.pod_ip.empty()) {
    PEAPOD_RETURN_IF_ERROR(ValidateIp(in.pod_ip, "pod IP"));
    PEAPOD_RETURN_IF_ERROR(ValidateHostname(in.hostname, "pod hostname"));
    out += Cat(in.pod_ip, "\t", in.hostname, "\n");
  }
  for (size_t i = 0; i < in.host_aliases.size(); ++i) {
    const HostAlias& a = in.host_aliases[i];
    std::string entry = Cat("host alias entry ", i);
    PEAPOD_RETURN_IF_ERROR(ValidateIp(a.ip, Cat(entry, ": ip")));
    if (a.hostnames.empty()) return absl::InvalidArgumentError(Cat(entry, ": no hostnames"));
    for (const std::string& n : a.hostnames) {
      PEAPOD_RETURN_IF_ERROR(ValidateHostname(n, Cat(entry, ": hostname")));
    }
    out += Cat(a.ip, "\t", Join(a.hostnames, " "), "\n");
  }
  return out;
}

absl::StatusOr<std::string> ResolvConfContent(const PodFilesInput& in) {
  bool use_host =
      !in.dns || (in.dns->servers.empty() && in.dns->searches.empty() && in.dns->options.empty());
  if (use_host) {
    auto host = linux::ReadWholeFile(in.host_resolv_conf, 1 << 20);
    if (!host.ok()) {
      if (absl::IsNotFound(host.status())) return std::string();
      return linux::Annotate(host.status(), "host resolv.conf");
    }
    return *host;
  }
  const DnsConfig& d = *in.dns;
  for (const std::string& s : d.servers) PEAPOD_RETURN_IF_ERROR(ValidateIp(s, "DNS server"));
  for (const std::string& s : d.searches) {
    // A trailing dot (fully qualified) is allowed in search domains.
    std::string_view name = s;
    if (name.size() > 1 && name.back() == '.') name.remove_suffix(1);
    PEAPOD_RETURN_IF_ERROR(ValidateHostname(name, "DNS search domain"));
  }
  for (const std::string& o : d.options) {
    PEAPOD_RETURN_IF_ERROR(CheckLineSafe(o, "DNS option"));
    if (o.empty()) return absl::InvalidArgumentError("DNS option is empty");
  }
  std::string out;
  if (!d.searches.empty()) out += Cat("search ", Join(d.searches, " "), "\n");
  for (const std::string& s : d.servers) out += Cat("nameserver ", s, "\n");
  if (!d.options.empty()) out += Cat("options ", Join(d.options, " "), "\n");
  return out;
}

absl::StatusOr<std::string> HostnameFileContent(const PodFilesInput& in) {
  PEAPOD_RETURN_IF_ERROR(ValidateHostname(in.hostname, "pod hostname"));
  return Cat(in.hostname, "\n");
}

absl::Status WritePodFiles(const std::string& pod_dir, const PodFilesInput& in) {
  PEAPOD_ASSIGN_OR_RETURN(std::string hosts, HostsFileContent(in));
  PEAPOD_ASSIGN_OR_RETURN(std::string resolv, ResolvConfContent(in));
  PEAPOD_ASSIGN_OR_RETURN(std::string hostname, HostnameFileContent(in));
  PodFilePaths p = PodFilePathsIn(pod_dir);
  // Replaced atomically but not fsynced: the pod dir is runtime state that
  // dies with the boot (like the pod itself), and a rename is enough for a
  // crash of peapodd to leave the old file or the new one.
  PEAPOD_RETURN_IF_ERROR(linux::ReplaceFile(p.hosts, hosts, 0644));
  PEAPOD_RETURN_IF_ERROR(linux::ReplaceFile(p.resolv_conf, resolv, 0644));
  PEAPOD_RETURN_IF_ERROR(linux::ReplaceFile(p.hostname, hostname, 0644));
  return absl::OkStatus();
}

absl::Status RemovePodFiles(const std::string& pod_dir) {
  PodFilePaths p = PodFilePathsIn(pod_dir);
  for (const std::string& f : {p.hosts, p.resolv_conf, p.hostname}) {
    if (::unlink(f.c_str()) != 0 && errno != ENOENT) return linux::ErrnoStatus(Cat("remove ", f));
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
