// ADD / DEL / CHECK of a plugin chain, as the CNI spec's "Network
// configuration list runtime semantics" describe: each plugin gets the list's
// name and cniVersion, the previous result as prevResult, and the runtime
// config entries for the capabilities it declares.
#include <sys/stat.h>
#include <unistd.h>

#include "cri/net/cni.h"
#include "cri/net/plugin_exec.h"
#include "cri/util/str.h"
#include "oci/linux/errno_status.h"
#include "oci/linux/file_util.h"

namespace peapod::cri {
namespace {

bool DeclaresCapability(const json::Value& plugin, std::string_view cap) {
  const json::Value* caps = plugin.Find("capabilities");
  if (caps == nullptr || !caps->is_object()) return false;
  const json::Value* c = caps->Find(cap);
  return c != nullptr && c->type() == json::Type::kBool && c->as_bool();
}

json::Value PortMappingsJson(const std::vector<CniPortMapping>& pms) {
  json::Array arr;
  for (const CniPortMapping& pm : pms) {
    json::Value o = json::Object{};
    o.Set("hostPort", static_cast<uint32_t>(pm.host_port));
    o.Set("containerPort", static_cast<uint32_t>(pm.container_port));
    o.Set("protocol", pm.protocol);
    if (!pm.host_ip.empty()) o.Set("hostIP", pm.host_ip);
    arr.push_back(std::move(o));
  }
  return arr;
}

absl::StatusOr<std::vector<CniPortMapping>> PortMappingsFromJson(const json::Reader& r) {
  std::vector<CniPortMapping> out;
  PEAPOD_ASSIGN_OR_RETURN(auto elems, r.Elements());
  for (const json::Reader& e : elems) {
    CniPortMapping pm;
    PEAPOD_ASSIGN_OR_RETURN(json::Reader h, e.Require("hostPort"));
    PEAPOD_ASSIGN_OR_RETURN(pm.host_port, h.Uint16());
    PEAPOD_ASSIGN_OR_RETURN(json::Reader c, e.Require("containerPort"));
    PEAPOD_ASSIGN_OR_RETURN(pm.container_port, c.Uint16());
    PEAPOD_ASSIGN_OR_RETURN(json::Reader p, e.Require("protocol"));
    PEAPOD_ASSIGN_OR_RETURN(pm.protocol, p.String());
    if (auto ip = e.Get("hostIP")) {
      PEAPOD_ASSIGN_OR_RETURN(pm.host_ip, ip->String());
    }
    out.push_back(std::move(pm));
  }
  return out;
}

absl::Status ValidateAttachment(const CniAttachment& a) {
  if (a.container_id.empty()) return absl::InvalidArgumentError("CNI: container id is empty");
  if (a.container_id.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(Cat("CNI: container id \"", a.container_id, "\" has '/'"));
  }
  if (a.ifname.empty() || a.ifname.size() > 15 || a.ifname.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(Cat("CNI: invalid interface name \"", a.ifname, "\""));
  }
  for (const auto& [k, v] : a.args) {
    if (k.empty() || k.find_first_of(";=") != std::string::npos ||
        v.find(';') != std::string::npos) {
      return absl::InvalidArgumentError(Cat("CNI: invalid CNI_ARGS entry \"", k, "=", v, "\""));
    }
  }
  for (const CniPortMapping& pm : a.port_mappings) {
    if (pm.host_port == 0 || pm.container_port == 0) {
      return absl::InvalidArgumentError(Cat("CNI: port mapping ", pm.host_port, " -> ",
                                            pm.container_port, ": ports must be 1-65535"));
    }
    if (pm.protocol != "tcp" && pm.protocol != "udp" && pm.protocol != "sctp") {
      return absl::InvalidArgumentError(
          Cat("CNI: port mapping ", pm.host_port, ": unknown protocol \"", pm.protocol, "\""));
    }
  }
  return absl::OkStatus();
}

std::string JoinArgs(const CniAttachment& a) {
  std::string s = "IgnoreUnknown=1";
  for (const auto& [k, v] : a.args) s += Cat(";", k, "=", v);
  return s;
}

std::string CachePath(const CniOptions& o, const std::string& net, const CniAttachment& a) {
  return Cat(o.cache_dir, "/", net, "-", a.container_id, "-", a.ifname, ".json");
}

struct Cached {
  json::Value result;  // null if none
  std::vector<CniPortMapping> port_mappings;
};

absl::StatusOr<Cached> ReadCache(const CniOptions& o, const std::string& net,
                                 const CniAttachment& a) {
  Cached c;
  if (o.cache_dir.empty()) return c;
  std::string path = CachePath(o, net, a);
  auto v = json::ParseFile(path, 1 << 20);
  if (!v.ok()) {
    if (absl::IsNotFound(v.status())) return c;
    return v.status();
  }
  json::Reader r(*v, "$");
  if (auto res = r.Get("result")) c.result = res->value();
  if (auto pm = r.Get("portMappings")) {
    auto pms = PortMappingsFromJson(*pm);
    if (!pms.ok()) return linux::Annotate(pms.status(), path);
    c.port_mappings = std::move(*pms);
  }
  return c;
}

// Writes the cached result of an ADD: atomic but not fsynced, as libcni
// writes it (DEL and CHECK read it for prevResult; DEL without it still
// releases the address).
absl::Status WriteCache(const CniOptions& o, const CniNetwork& n, const CniAttachment& a,
                        const json::Value& result, const std::vector<CniPortMapping>& pms) {
  if (o.cache_dir.empty()) return absl::OkStatus();
  const std::string& net = n.name();
  json::Value cache = json::Object{};
  cache.Set("kind", "peapod.cniCache.v1");
  cache.Set("network", net);
  cache.Set("config", n.ConfListJson());
  cache.Set("containerId", a.container_id);
  cache.Set("ifName", a.ifname);
  cache.Set("result", result);
  cache.Set("portMappings", PortMappingsJson(pms));
  ::mkdir(o.cache_dir.c_str(), 0700);
  absl::Status st = linux::ReplaceFile(CachePath(o, net, a), json::Write(cache), 0600);
  return st.ok() ? st : linux::Annotate(st, "CNI result cache");
}

}  // namespace

// Builds the stdin config of plugin `i`.
static std::string PluginConfig(const json::Value& plugin, const std::string& name,
                                const std::string& version, const json::Value& prev,
                                const std::vector<CniPortMapping>& pms) {
  json::Value conf = plugin;
  conf.Set("name", name);
  conf.Set("cniVersion", version);
  if (!prev.is_null()) conf.Set("prevResult", prev);
  if (!pms.empty() && DeclaresCapability(plugin, "portMappings")) {
    json::Value rc = json::Object{};
    if (const json::Value* old = plugin.Find("runtimeConfig"); old && old->is_object()) rc = *old;
    rc.Set("portMappings", PortMappingsJson(pms));
    conf.Set("runtimeConfig", std::move(rc));
  }
  return json::Write(conf);
}

static PluginCall Call(const CniOptions& o, const CniAttachment& a, const std::string& command,
                       const std::string& netns) {
  PluginCall call;
  call.command = command;
  call.container_id = a.container_id;
  call.netns = netns;
  call.ifname = a.ifname;
  call.args = JoinArgs(a);
  call.plugin_dirs = o.plugin_dirs;
  call.timeout = o.plugin_timeout;
  return call;
}

static absl::StatusOr<std::string> RunPlugin(const CniOptions& o, const CniAttachment& a,
                                             const std::string& command, const json::Value& plugin,
                                             std::string config, const std::string& netns) {
  const std::string& type = plugin.Find("type")->as_string();
  PEAPOD_ASSIGN_OR_RETURN(std::string path, FindPlugin(type, o.plugin_dirs));
  PluginCall call = Call(o, a, command, netns);
  call.stdin_config = std::move(config);
  return ExecPlugin(path, call);
}

// Starts the ADD process of plugin `plugin` (it waits for its config).
static absl::StatusOr<PluginProcess> StartAddProcess(const CniOptions& o, const CniAttachment& a,
                                                     const json::Value& plugin) {
  PEAPOD_ASSIGN_OR_RETURN(std::string path,
                          FindPlugin(plugin.Find("type")->as_string(), o.plugin_dirs));
  return PluginProcess::Start(path, Call(o, a, "ADD", a.netns_path));
}

CniAddStart::CniAddStart() = default;
CniAddStart::CniAddStart(CniAddStart&&) noexcept = default;
CniAddStart& CniAddStart::operator=(CniAddStart&&) noexcept = default;
CniAddStart::~CniAddStart() = default;

absl::StatusOr<CniAddStart> CniNetwork::StartAdd(const CniOptions& o, const CniAttachment& a,
                                                 size_t from) const {
  PEAPOD_RETURN_IF_ERROR(ValidateAttachment(a));
  if (a.netns_path.empty())
    return absl::InvalidArgumentError("CNI ADD: network namespace path is empty");
  CniAddStart s;
  s.container_id_ = a.container_id;
  s.netns_path_ = a.netns_path;
  s.index_ = from;
  if (from < plugins_.size()) {
    PEAPOD_ASSIGN_OR_RETURN(PluginProcess p, StartAddProcess(o, a, plugins_[from]));
    s.first_ = std::make_unique<PluginProcess>(std::move(p));
  }
  return s;
}

absl::StatusOr<CniHead> CniNetwork::AddHead(const CniOptions& o, const CniAttachment& a) const {
  PEAPOD_RETURN_IF_ERROR(ValidateAttachment(a));
  if (a.netns_path.empty())
    return absl::InvalidArgumentError("CNI ADD: network namespace path is empty");
  CniHead head;
  head.plugins = WarmHeadLength();
  if (head.plugins == 0) {
    return absl::FailedPreconditionError(
        Cat("network \"", name_, "\": its first plugin cannot be added ahead of the pod"));
  }
  auto fail = [&](absl::Status st) {
    (void)Del(o, a);
    return linux::Annotate(st, Cat("network \"", name_, "\" (", origin_, ")"));
  };
  for (size_t i = 0; i < head.plugins; ++i) {
    const json::Value& plugin = plugins_[i];
    std::string conf = PluginConfig(plugin, name_, cni_version_, head.result, {});
    absl::StatusOr<std::string> out = RunPlugin(o, a, "ADD", plugin, std::move(conf), a.netns_path);
    if (!out.ok()) return fail(out.status());
    absl::StatusOr<json::Value> parsed = json::Parse(*out);
    absl::Status st = parsed.status();
    if (st.ok()) st = ParseCniResultJson(*parsed).status();
    if (!st.ok()) {
      return fail(linux::Annotate(
          st, Cat("CNI plugin ", plugin.Find("type")->as_string(), " (ADD) printed a bad result")));
    }
    head.result = *std::move(parsed);
  }
  if (absl::Status st = WriteCache(o, *this, a, head.result, {}); !st.ok()) return fail(st);
  return head;
}

absl::StatusOr<CniResult> CniNetwork::Add(const CniOptions& o, const CniAttachment& a,
                                          const std::function<absl::Status()>& ready,
                                          CniAddStart started, const CniHead* head) const {
  PEAPOD_RETURN_IF_ERROR(ValidateAttachment(a));
  if (a.netns_path.empty())
    return absl::InvalidArgumentError("CNI ADD: network namespace path is empty");
  const size_t from = head != nullptr ? head->plugins : 0;
  if (from > plugins_.size()) {
    return absl::InvalidArgumentError(
        Cat("CNI ADD: a head of ", from, " plugins in a chain of ", plugins_.size()));
  }
  absl::StatusOr<PluginProcess> next = PluginProcess();
  if (started.first_) {
    if (started.container_id_ != a.container_id || started.netns_path_ != a.netns_path ||
        started.index_ != from) {
      return absl::FailedPreconditionError(
          Cat("CNI ADD for ", a.container_id, " in ", a.netns_path, " from plugin ", from,
              ": its first plugin was started for ", started.container_id_, " in ",
              started.netns_path_, " as plugin ", started.index_));
    }
    next = std::move(*started.first_);
  } else if (from < plugins_.size()) {
    next = StartAddProcess(o, a, plugins_[from]);
  }
  if (ready) {
    // A failure here leaves nothing to undo but a head: the started plugin
    // is killed before it has read a config.
    if (absl::Status st = ready(); !st.ok()) {
      if (head != nullptr) {
        next = PluginProcess();
        (void)Del(o, a);
      }
      return st;
    }
  }
  json::Value prev;
  if (head != nullptr) prev = head->result;
  // Plugins that printed their result and are still exiting (a Go
  // runtime's exit takes ~1 ms): the next one already runs on that result.
  // Their verdicts (exit status) come before the ADD succeeds; a failure
  // then undoes the chain with DEL, as any failure does, and is the error
  // reported, being the first in the chain.
  std::vector<PluginProcess> exiting;
  auto fail = [&](absl::Status st) {
    next = PluginProcess();  // the next plugin, started, never acts
    for (PluginProcess& p : exiting) {
      if (!p.running()) continue;
      absl::StatusOr<std::string> verdict = p.Finish();
      if (!verdict.ok()) {
        st = verdict.status();
        break;
      }
    }
    exiting.clear();  // waits for any still running
    // Undo what the chain did so far; the ADD error is the one reported.
    (void)Del(o, a);
    return linux::Annotate(st, Cat("network \"", name_, "\" (", origin_, ")"));
  };
  for (size_t i = from; i < plugins_.size(); ++i) {
    const json::Value& plugin = plugins_[i];
    std::string conf = PluginConfig(plugin, name_, cni_version_, prev, a.port_mappings);
    absl::StatusOr<PluginProcess> current = std::move(next);
    // Its config first: starting the next plugin can stall this thread for
    // a while (a vfork waits for the exec, then for a CPU).
    if (current.ok()) current->Send(std::move(conf));
    const bool last = i + 1 == plugins_.size();
    if (!last) next = StartAddProcess(o, a, plugins_[i + 1]);
    absl::StatusOr<std::string> out = !current.ok() ? absl::StatusOr<std::string>(current.status())
                                      : last        ? current->Finish()
                                                    : current->AwaitResult();
    if (current.ok() && current->running()) exiting.push_back(*std::move(current));
    absl::Status st = out.status();
    if (st.ok() && !out->empty()) {
      auto parsed = json::Parse(*out);
      if (parsed.ok()) {
        auto res = ParseCniResultJson(*parsed);
        if (res.ok()) {
          prev = std::move(*parsed);
        } else {
          st = res.status();
        }
      } else {
        st = parsed.status();
      }
      if (!st.ok()) {
        st = linux::Annotate(st, Cat("CNI plugin ", plugin.Find("type")->as_string(),
                                     " (ADD) printed a bad result"));
      }
    }
    if (!st.ok()) return fail(st);
  }
  for (PluginProcess& p : exiting) {
    absl::StatusOr<std::string> verdict = p.Finish();
    if (!verdict.ok()) return fail(verdict.status());
  }
  exiting.clear();
  if (prev.is_null()) {
    (void)Del(o, a);
    return absl::InternalError(Cat("network \"", name_, "\": the plugin chain returned no result"));
  }
  if (absl::Status st = WriteCache(o, *this, a, prev, a.port_mappings); !st.ok()) {
    (void)Del(o, a);
    return st;
  }
  return ParseCniResultJson(prev);
}

absl::Status CniNetwork::Del(const CniOptions& o, const CniAttachment& a) const {
  PEAPOD_RETURN_IF_ERROR(ValidateAttachment(a));
  auto cached = ReadCache(o, name_, a);
  Cached c;
  if (cached.ok()) c = std::move(*cached);  // a corrupt cache: DEL without it
  const std::vector<CniPortMapping>& pms =
      a.port_mappings.empty() ? c.port_mappings : a.port_mappings;
  // A namespace that is gone is passed as "" so plugins skip the inside part.
  std::string netns = a.netns_path;
  struct stat st;
  if (!netns.empty() && ::stat(netns.c_str(), &st) != 0) netns.clear();
  absl::Status first;
  for (auto it = plugins_.rbegin(); it != plugins_.rend(); ++it) {
    std::string conf = PluginConfig(*it, name_, cni_version_, c.result, pms);
    auto out = RunPlugin(o, a, "DEL", *it, std::move(conf), netns);
    if (!out.ok() && first.ok()) {
      first = linux::Annotate(out.status(), Cat("network \"", name_, "\""));
    }
  }
  if (first.ok() && !o.cache_dir.empty()) {
    std::string path = CachePath(o, name_, a);
    if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
      return linux::ErrnoStatus(Cat("remove ", path));
    }
  }
  return first;
}

absl::Status CniNetwork::Check(const CniOptions& o, const CniAttachment& a) const {
  PEAPOD_RETURN_IF_ERROR(ValidateAttachment(a));
  if (disable_check_) return absl::OkStatus();
  if (cni_version_.starts_with("0.3") || cni_version_ < "0.4.0") {
    return absl::UnimplementedError(Cat("network \"", name_,
                                        "\": CHECK needs cniVersion 0.4.0 or later, config has ",
                                        cni_version_));
  }
  PEAPOD_ASSIGN_OR_RETURN(Cached c, ReadCache(o, name_, a));
  if (c.result.is_null()) {
    return absl::FailedPreconditionError(
        Cat("network \"", name_, "\": no cached ADD result for ", a.container_id));
  }
  for (const json::Value& plugin : plugins_) {
    std::string conf = PluginConfig(plugin, name_, cni_version_, c.result, c.port_mappings);
    auto out = RunPlugin(o, a, "CHECK", plugin, std::move(conf), a.netns_path);
    if (!out.ok()) return linux::Annotate(out.status(), Cat("network \"", name_, "\""));
  }
  return absl::OkStatus();
}

}  // namespace peapod::cri
