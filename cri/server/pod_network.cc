// Pod networking and pod files (see pod_network.h).
#include "cri/server/pod_network.h"

#include <arpa/inet.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>

#include "absl/strings/str_format.h"
#include "cri/net/netns.h"
#include "cri/podfiles/pod_files.h"
#include "cri/server/pod_ops.h"
#include "cri/util/str.h"

namespace peapod::cri {
namespace {

namespace v1 = ::runtime::v1;

absl::StatusOr<std::vector<CniPortMapping>> PortMappings(const v1::PodSandboxConfig& c) {
  std::vector<CniPortMapping> out;
  for (int i = 0; i < c.port_mappings_size(); ++i) {
    const v1::PortMapping& pm = c.port_mappings(i);
    std::string where = Cat("config.port_mappings[", i, "]");
    if (pm.host_port() == 0) continue;  // no host port: nothing to forward
    if (pm.host_port() < 0 || pm.host_port() > 65535) {
      return absl::InvalidArgumentError(
          Cat(where, ": host_port ", pm.host_port(), " out of range"));
    }
    if (pm.container_port() <= 0 || pm.container_port() > 65535) {
      return absl::InvalidArgumentError(
          Cat(where, ": container_port ", pm.container_port(), " out of range"));
    }
    CniPortMapping m;
    m.host_port = static_cast<uint16_t>(pm.host_port());
    m.container_port = static_cast<uint16_t>(pm.container_port());
    switch (pm.protocol()) {
      case v1::TCP:
        m.protocol = "tcp";
        break;
      case v1::UDP:
        m.protocol = "udp";
        break;
      case v1::SCTP:
        m.protocol = "sctp";
        break;
      default:
        return absl::InvalidArgumentError(Cat(where, ": unknown protocol ", pm.protocol()));
    }
    if (!pm.host_ip().empty()) {
      unsigned char buf[16];
      if (::inet_pton(AF_INET, pm.host_ip().c_str(), buf) != 1 &&
          ::inet_pton(AF_INET6, pm.host_ip().c_str(), buf) != 1) {
        return absl::InvalidArgumentError(
            Cat(where, ": host_ip \"", pm.host_ip(), "\" is not an IP address"));
      }
      m.host_ip = pm.host_ip();
    }
    out.push_back(std::move(m));
  }
  return out;
}

CniAttachment Attachment(const PodRecord& r, const std::string& netns) {
  CniAttachment a;
  a.container_id = r.id;
  a.netns_path = netns;
  a.args = {{"K8S_POD_NAMESPACE", r.metadata.namespace_},
            {"K8S_POD_NAME", r.metadata.name},
            {"K8S_POD_INFRA_CONTAINER_ID", r.id},
            {"K8S_POD_UID", r.metadata.uid}};
  return a;
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

std::string HostHostname() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0) return "localhost";
  return buf;
}

absl::StatusOr<PodFilesInput> FilesInput(const PodRecord& r, const v1::PodSandboxConfig& c) {
  PodFilesInput in;
  in.hostname = !c.hostname().empty() ? c.hostname()
                : !r.hostname.empty() ? r.hostname
                                      : HostHostname();
  in.pod_ip = r.ip;
  auto it = c.annotations().find(std::string(kHostAliasesAnnotation));
  if (it != c.annotations().end()) {
    absl::StatusOr<std::vector<HostAlias>> aliases = ParseHostAliases(it->second);
    if (!aliases.ok()) return aliases.status();
    in.host_aliases = std::move(*aliases);
  }
  if (c.has_dns_config()) {
    DnsConfig dns;
    dns.servers.assign(c.dns_config().servers().begin(), c.dns_config().servers().end());
    dns.searches.assign(c.dns_config().searches().begin(), c.dns_config().searches().end());
    dns.options.assign(c.dns_config().options().begin(), c.dns_config().options().end());
    in.dns = std::move(dns);
  }
  return in;
}

}  // namespace

std::string PodNetnsDir(const Daemon& d) { return Cat(d.config.state_dir, "/netns"); }

CniOptions PodCniOptions(const Daemon& d) {
  CniOptions o;
  o.plugin_dirs = d.config.cni_plugin_dirs;
  o.conf_dir = d.config.cni_conf_dir;
  o.cache_dir = Cat(d.config.root, "/cni-cache");
  return o;
}

absl::StatusOr<std::optional<CniNetwork>> PodCniNetwork(const Daemon& d, NamespaceMode network) {
  if (network == NamespaceMode::kNode) return std::nullopt;
  absl::StatusOr<CniNetwork> net = CniNetwork::LoadDefault(d.config.cni_conf_dir);
  if (absl::IsNotFound(net.status())) return std::nullopt;
  if (!net.ok()) return net.status();
  return std::optional<CniNetwork>(*std::move(net));
}

std::string PodNetnsPath(const Daemon& d, const std::string& pod_id) {
  return Cat(PodNetnsDir(d), "/", pod_id);
}

absl::StatusOr<CniAddStart> BeginPodNetwork(const Daemon& d, const PodRecord& r,
                                            const CniNetwork& net, size_t head_plugins) {
  return net.StartAdd(PodCniOptions(d), Attachment(r, PodNetnsPath(d, r.id)), head_plugins);
}

absl::StatusOr<std::string> PinPodNetns(Daemon& d, const std::string& pod_id, Rollback& undo) {
  absl::StatusOr<PinnedNetns> ns = absl::NotFoundError("no spare");
  if (d.netns_spare) ns = d.netns_spare->Take(pod_id);
  if (!ns.ok()) {
    if (!absl::IsNotFound(ns.status())) d.log.Warn(Cat("spare netns: ", ns.status().ToString()));
    ns = PinnedNetns::Create(PodNetnsDir(d), pod_id);
  }
  if (!ns.ok()) return ns.status();
  std::string netns = ns->Release();
  undo.Push("unpin the pod's network namespace", [netns] { return RemovePinnedNetns(netns); });
  return netns;
}

absl::StatusOr<EarlyPodNetwork> StartPodNetwork(Daemon& d, const PodRecord& r,
                                                const v1::PodSandboxConfig& c,
                                                const CniNetwork& net, CniAddStart first,
                                                std::function<absl::Status()> before_add,
                                                Rollback& undo,
                                                std::optional<WarmNetwork::Taken> warm) {
  absl::StatusOr<std::vector<CniPortMapping>> pms = PortMappings(c);
  if (!pms.ok()) return pms.status();
  std::optional<CniHead> head;
  EarlyPodNetwork out;
  if (warm) {
    if (warm->id != r.id) {
      return absl::InternalError(
          Cat("pod ", r.id, " was given the warm CNI attachment of ", warm->id));
    }
    out.netns = std::move(warm->netns);
    head = std::move(warm->head);
    undo.Push("unpin the pod's network namespace",
              [netns = out.netns] { return RemovePinnedNetns(netns); });
    before_add = [&d, id = r.id, before_add = std::move(before_add)] {
      absl::Status s = before_add ? before_add() : absl::OkStatus();
      if (s.ok() && d.warm_network) d.warm_network->Adopted(id);
      return s;
    };
  } else {
    absl::StatusOr<std::string> netns = PinPodNetns(d, r.id, undo);
    if (!netns.ok()) return netns.status();
    out.netns = *std::move(netns);
  }
  CniAttachment a = Attachment(r, out.netns);
  a.port_mappings = std::move(*pms);
  CniOptions opts = PodCniOptions(d);
  auto add = [&log = d.log, net, opts, a, before_add = std::move(before_add),
              first = std::move(first),
              head = std::move(head)]() mutable -> absl::StatusOr<std::vector<std::string>> {
    auto t0 = std::chrono::steady_clock::now();
    // The first plugin gets its config once before_add (the record
    // durable) returns.
    absl::StatusOr<CniResult> res =
        net.Add(opts, a, before_add, std::move(first), head ? &*head : nullptr);
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(
        std::chrono::steady_clock::now() - t0);
    log.Debug(Cat("pod ", a.container_id, ": CNI ADD to ", net.name(),
                  head ? Cat(" (after a warm head of ", head->plugins, ")") : "",
                  res.ok() ? " done in " : " failed in ",
                  absl::StrFormat("%.1f", us.count() / 1000.0), " ms"));
    if (!res.ok()) return res.status();
    return res->AllIps();
  };
  out.ips = std::async(std::launch::async, std::move(add)).share();
  // ADD undoes itself when it fails; once it succeeded, DEL undoes it.
  undo.Push(Cat("CNI DEL from network ", net.name()), [ips = out.ips, net, opts, a] {
    return ips.get().ok() ? net.Del(opts, a) : absl::OkStatus();
  });
  return out;
}

absl::Status CheckPodNetworkConfig(const v1::PodSandboxConfig& c) {
  absl::StatusOr<std::vector<CniPortMapping>> pms = PortMappings(c);
  if (!pms.ok()) return pms.status();
  PodRecord probe;
  probe.hostname = "localhost";
  absl::StatusOr<PodFilesInput> in = FilesInput(probe, c);
  if (!in.ok()) return in.status();
  // Contents are built (and so validated) without writing anything.
  if (absl::StatusOr<std::string> h = HostsFileContent(*in); !h.ok()) return h.status();
  if (absl::StatusOr<std::string> rc = ResolvConfContent(*in); !rc.ok()) return rc.status();
  return absl::OkStatus();
}

absl::Status TearDownPodNetwork(Daemon& d, const PodRecord& pod) {
  if (pod.network_mode == NamespaceMode::kNode) return absl::OkStatus();
  std::string netns = pod.netns_path.empty() || pod.netns_path.starts_with("/proc/")
                          ? PodNetnsPath(d, pod.id)
                          : pod.netns_path;
  CniOptions opts = PodCniOptions(d);
  // The network the ADD ran with, if cached; else today's config.
  absl::StatusOr<CniNetwork> net = CniNetwork::FromCachedAdd(opts, pod.id);
  if (!net.ok()) net = CniNetwork::LoadDefault(d.config.cni_conf_dir);
  if (net.ok()) {
    // Anything to undo: a pinned namespace (ADD may have run) or a cached
    // ADD result. Neither: the pod never got that far, or DEL already ran.
    CniAttachment a = Attachment(pod, netns);
    std::string cache = Cat(opts.cache_dir, "/", net->name(), "-", pod.id, "-", a.ifname, ".json");
    if (Exists(netns) || Exists(cache)) {
      if (absl::Status s = net->Del(opts, a); !s.ok()) return s;
    }
  } else if (!absl::IsNotFound(net.status())) {
    return net.status();
  }
  return RemovePinnedNetns(netns);
}

absl::Status CheckPodNetwork(Daemon& d, const PodRecord& pod) {
  if (pod.network_mode == NamespaceMode::kNode) {
    return absl::UnimplementedError("the pod uses the host's network");
  }
  absl::StatusOr<CniNetwork> net = CniNetwork::LoadDefault(d.config.cni_conf_dir);
  if (absl::IsNotFound(net.status())) return absl::UnimplementedError("no CNI network");
  if (!net.ok()) return net.status();
  std::string netns = PodNetnsPath(d, pod.id);
  if (!Exists(netns)) {
    return absl::FailedPreconditionError(Cat("network namespace ", netns, " is gone"));
  }
  absl::Status s = net->Check(PodCniOptions(d), Attachment(pod, netns));
  if (absl::IsFailedPrecondition(s)) return absl::UnimplementedError(s.message());  // no ADD cached
  return s;
}

absl::Status WritePodFilesFor(const PodRecord& r, const v1::PodSandboxConfig& c,
                              const std::string& pod_dir) {
  absl::StatusOr<PodFilesInput> in = FilesInput(r, c);
  if (!in.ok()) return in.status();
  return WritePodFiles(pod_dir, *in);
}

void SetPodFilePaths(const Daemon& d, const std::string& pod_id, spec::PodInfo* pod) {
  PodFilePaths files = PodFilePathsIn(PodDir(d, pod_id));
  if (Exists(files.hosts)) pod->hosts_path = files.hosts;
  if (Exists(files.resolv_conf)) pod->resolv_conf_path = files.resolv_conf;
  if (Exists(files.hostname)) pod->hostname_path = files.hostname;
}

}  // namespace peapod::cri
