// Pod networking through CNI plugins (CNI spec 1.0): finding the network
// configuration, running its plugin chain for ADD / DEL / CHECK, and the
// results (cniVersion 0.3.x, 0.4.0 and 1.0.0) in the project's own types.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "oci/spec/json.h"

namespace peapod::cri {

// Where plugins and configurations live ([cni] in peapod.toml).
struct CniOptions {
  std::vector<std::string> plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
  std::string conf_dir = "/etc/cni/net.d";
  // Results of ADD are kept here (one JSON file per attachment) and given
  // back to DEL / CHECK as prevResult. Empty: no cache.
  std::string cache_dir;
  // A plugin still running after this is killed and the operation fails.
  std::chrono::milliseconds plugin_timeout{60000};
};

// One host port forwarded to the pod (the portMappings capability).
struct CniPortMapping {
  uint16_t host_port = 0;
  uint16_t container_port = 0;
  std::string protocol = "tcp";  // "tcp" or "udp" (or "sctp")
  std::string host_ip;           // empty: every host address
};

// What identifies one pod's attachment to the network.
struct CniAttachment {
  std::string container_id;  // the pod (sandbox) id
  std::string netns_path;    // the pod's network namespace (pinned file)
  std::string ifname = "eth0";
  // CNI_ARGS, in order: K8S_POD_NAMESPACE, K8S_POD_NAME, ... ("IgnoreUnknown=1"
  // is added first).
  std::vector<std::pair<std::string, std::string>> args;
  std::vector<CniPortMapping> port_mappings;
};

struct CniInterface {
  std::string name;
  std::string mac;
  std::string sandbox;  // netns path, empty for host-side interfaces
};

struct CniIp {
  std::string address;  // CIDR, "10.88.0.5/16"
  std::string gateway;
  std::optional<int> interface;  // index into interfaces
  // The address without its prefix length ("10.88.0.5").
  std::string Ip() const;
};

// A plugin's (or a chain's) result, any supported cniVersion.
struct CniResult {
  std::string cni_version;
  std::vector<CniInterface> interfaces;
  std::vector<CniIp> ips;
  json::Value raw;  // the result as the plugin printed it
  // The first IP on an interface inside the sandbox (else the first IP), or "".
  std::string PrimaryIp() const;
  // Every IP (without prefix), primary first.
  std::vector<std::string> AllIps() const;
};

// Parses a result of cniVersion 0.3.0, 0.3.1, 0.4.0 or 1.0.0. Errors name the
// member that was wrong.
// A cniVersion peapod reads results and configs of: 0.3.0, 0.3.1, 0.4.0, 1.0.0.
bool CniVersionSupported(const std::string& version);

absl::StatusOr<CniResult> ParseCniResult(std::string_view text);
absl::StatusOr<CniResult> ParseCniResultJson(const json::Value& v);

class PluginProcess;  // plugin_exec.h

// The head of a chain ADDed ahead of its pod (CniNetwork::AddHead): how many
// plugins ran and the last one's result, the next plugin's prevResult.
struct CniHead {
  size_t plugins = 0;
  json::Value result;
};

// The first plugin of an ADD, started ahead of it (CniNetwork::StartAdd) and
// waiting for its config; destroyed unused, it is killed, never having acted.
class CniAddStart {
 public:
  CniAddStart();
  CniAddStart(CniAddStart&&) noexcept;
  CniAddStart& operator=(CniAddStart&&) noexcept;
  ~CniAddStart();

 private:
  friend class CniNetwork;
  std::unique_ptr<PluginProcess> first_;
  std::string container_id_, netns_path_;  // the attachment it was started for
  size_t index_ = 0;                       // which plugin of the chain
};

// A network configuration list: a named chain of plugins.
class CniNetwork {
 public:
  // The first configuration (by file name) in conf_dir ending in .conflist,
  // .conf or .json, as libcni picks it; NotFound (saying where it looked)
  // when there is none. Files that fail to parse are errors naming the file.
  static absl::StatusOr<CniNetwork> LoadDefault(const std::string& conf_dir);
  // Parses a .conflist document.
  static absl::StatusOr<CniNetwork> FromConfList(std::string_view text, std::string origin);
  // Parses a single-plugin .conf document (wrapped as a one-plugin list).
  static absl::StatusOr<CniNetwork> FromConf(std::string_view text, std::string origin);
  // The network an attachment's ADD ran with, from its cached result (Add
  // keeps the config there, as libcni does), whatever the config dir holds
  // now: DEL undoes what ADD did, with the same plugins, as CRI-O does.
  // NotFound when no cached ADD of that container id and interface has one.
  static absl::StatusOr<CniNetwork> FromCachedAdd(const CniOptions& opts,
                                                  const std::string& container_id,
                                                  const std::string& ifname = "eth0");
  // The network as a .conflist document.
  json::Value ConfListJson() const;

  const std::string& name() const { return name_; }
  const std::string& cni_version() const { return cni_version_; }
  const std::string& origin() const { return origin_; }
  // Plugin types, in chain order.
  std::vector<std::string> PluginTypes() const;
  // Whether `other` is the same network: name, cniVersion and every plugin's
  // config alike.
  bool SameAs(const CniNetwork& other) const;

  // How many plugins, from the first, can be ADDed before the pod exists
  // (AddHead): reference plugins that act on the namespace and the host and
  // read nothing of the pod (bridge, ptp, macvlan, ipvlan with host-local or
  // static IPAM) and declare no capabilities, so their config is the same
  // whatever the pod asks for. Stops at the first other plugin; 0 when the
  // first is one.
  size_t WarmHeadLength() const;
  // Runs ADD through the first WarmHeadLength() plugins for `a` and caches
  // that result (so DEL finds it, as for a whole ADD). On failure they are
  // undone with DEL. FailedPrecondition when the head is empty.
  absl::StatusOr<CniHead> AddHead(const CniOptions& opts, const CniAttachment& a) const;

  // Runs ADD through the chain (each plugin gets the previous result) and
  // returns the last result. On failure, the plugins already run are undone
  // with DEL before the error is returned.
  // Each plugin process is started while the one before it runs, and gets
  // its config (which holds that one's result) when it is known: its start
  // overlaps the wait. `ready`, if given, runs after the first plugin is
  // started and before it gets its config; its error ends the ADD with
  // nothing done (a plugin acts only once it has read its config).
  // `started`, from StartAdd for the same attachment, is the first plugin
  // already running (none: Add starts it).
  // With `head` (AddHead for the same attachment), the ADD goes on from the
  // plugin after it, on its result; a failure, `ready`'s too, then undoes
  // the head as well.
  absl::StatusOr<CniResult> Add(const CniOptions& opts, const CniAttachment& a,
                                const std::function<absl::Status()>& ready = nullptr,
                                CniAddStart started = {}, const CniHead* head = nullptr) const;
  // Starts the first plugin of an ADD for `a` now (with `from`, the plugin
  // after a head of that many), so that its start overlaps whatever comes
  // before the ADD. a.netns_path need not exist yet: the plugin opens it
  // only once Add has given it its config.
  absl::StatusOr<CniAddStart> StartAdd(const CniOptions& opts, const CniAttachment& a,
                                       size_t from = 0) const;
  // Runs DEL in reverse order with the cached result (if any). Missing state
  // (no cache, netns gone) is not an error; every plugin is run even if one
  // fails, and the first error is returned.
  absl::Status Del(const CniOptions& opts, const CniAttachment& a) const;
  // Runs CHECK through the chain with the cached result (FailedPrecondition
  // when there is none, or when the config disables checks).
  absl::Status Check(const CniOptions& opts, const CniAttachment& a) const;

 private:
  CniNetwork() = default;
  std::string name_;
  std::string cni_version_;
  std::string origin_;
  bool disable_check_ = false;
  std::vector<json::Value> plugins_;  // each plugin's object, as written
};

}  // namespace peapod::cri
