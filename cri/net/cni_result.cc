// CNI results (spec sections "Success" of 0.3.x/0.4.0 and 1.0.0): the same
// shape in the parts peapod reads, except that 0.x IPs carry "version".
#include <arpa/inet.h>

#include "cri/net/cni.h"
#include "cri/util/str.h"
#include "oci/linux/errno_status.h"

namespace peapod::cri {
namespace {

bool ValidCidr(const std::string& s) {
  size_t slash = s.find('/');
  if (slash == std::string::npos) return false;
  std::string ip = s.substr(0, slash), len = s.substr(slash + 1);
  unsigned char buf[16];
  int max = 0;
  if (::inet_pton(AF_INET, ip.c_str(), buf) == 1) {
    max = 32;
  } else if (::inet_pton(AF_INET6, ip.c_str(), buf) == 1) {
    max = 128;
  } else {
    return false;
  }
  if (len.empty() || len.size() > 3) return false;
  for (char c : len) {
    if (c < '0' || c > '9') return false;
  }
  return std::stoi(len) <= max;
}

}  // namespace

bool CniVersionSupported(const std::string& v) {
  return v == "0.3.0" || v == "0.3.1" || v == "0.4.0" || v == "1.0.0";
}

std::string CniIp::Ip() const { return address.substr(0, address.find('/')); }

std::string CniResult::PrimaryIp() const {
  for (const CniIp& ip : ips) {
    if (ip.interface && *ip.interface >= 0 &&
        static_cast<size_t>(*ip.interface) < interfaces.size() &&
        !interfaces[*ip.interface].sandbox.empty()) {
      return ip.Ip();
    }
  }
  return ips.empty() ? "" : ips.front().Ip();
}

std::vector<std::string> CniResult::AllIps() const {
  std::vector<std::string> out;
  std::string primary = PrimaryIp();
  if (!primary.empty()) out.push_back(primary);
  for (const CniIp& ip : ips) {
    if (ip.Ip() != primary) out.push_back(ip.Ip());
  }
  return out;
}

absl::StatusOr<CniResult> ParseCniResultJson(const json::Value& v) {
  json::Reader r(v, "$");
  PEAPOD_RETURN_IF_ERROR(r.ExpectObject());
  CniResult res;
  res.raw = v;
  PEAPOD_ASSIGN_OR_RETURN(json::Reader ver, r.Require("cniVersion"));
  PEAPOD_ASSIGN_OR_RETURN(res.cni_version, ver.String());
  if (!CniVersionSupported(res.cni_version)) {
    return ver.Error(Cat("unsupported CNI result version \"", res.cni_version,
                         "\" (supported: 0.3.0, 0.3.1, 0.4.0, 1.0.0)"));
  }
  if (auto ifs = r.Get("interfaces")) {
    PEAPOD_ASSIGN_OR_RETURN(auto elems, ifs->Elements());
    for (const json::Reader& e : elems) {
      PEAPOD_RETURN_IF_ERROR(e.ExpectObject());
      CniInterface itf;
      PEAPOD_ASSIGN_OR_RETURN(json::Reader name, e.Require("name"));
      PEAPOD_ASSIGN_OR_RETURN(itf.name, name.String());
      if (auto m = e.Get("mac")) {
        PEAPOD_ASSIGN_OR_RETURN(itf.mac, m->String());
      }
      if (auto s = e.Get("sandbox")) {
        PEAPOD_ASSIGN_OR_RETURN(itf.sandbox, s->String());
      }
      res.interfaces.push_back(std::move(itf));
    }
  }
  if (auto ips = r.Get("ips")) {
    PEAPOD_ASSIGN_OR_RETURN(auto elems, ips->Elements());
    for (const json::Reader& e : elems) {
      PEAPOD_RETURN_IF_ERROR(e.ExpectObject());
      CniIp ip;
      PEAPOD_ASSIGN_OR_RETURN(json::Reader addr, e.Require("address"));
      PEAPOD_ASSIGN_OR_RETURN(ip.address, addr.String());
      if (!ValidCidr(ip.address)) {
        return addr.Error(Cat("\"", ip.address, "\" is not an address in CIDR form"));
      }
      if (auto g = e.Get("gateway")) {
        PEAPOD_ASSIGN_OR_RETURN(ip.gateway, g->String());
      }
      if (auto i = e.Get("interface")) {
        PEAPOD_ASSIGN_OR_RETURN(int32_t idx, i->Int32());
        if (idx < 0 || static_cast<size_t>(idx) >= res.interfaces.size()) {
          return i->Error(Cat("interface index ", idx, " out of range (", res.interfaces.size(),
                              " interfaces)"));
        }
        ip.interface = idx;
      }
      res.ips.push_back(std::move(ip));
    }
  }
  return res;
}

absl::StatusOr<CniResult> ParseCniResult(std::string_view text) {
  auto v = json::Parse(text);
  if (!v.ok()) return linux::Annotate(v.status(), "CNI result");
  auto r = ParseCniResultJson(*v);
  if (!r.ok()) return linux::Annotate(r.status(), "CNI result");
  return r;
}

}  // namespace peapod::cri
