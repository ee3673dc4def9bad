// oci::Spec → config.json. Absent optionals and empty members are omitted,
// so Parse(Serialize(x)) == x.
#include "oci/spec/spec.h"
#include "oci/spec/spec_json.h"

namespace peapod::oci {

using internal::Put;
using internal::PutOpt;
using internal::StringList;
using json::Value;

namespace {

Value NewObject() { return Value(json::Object{}); }

template <typename T, typename F>
void PutList(Value& obj, std::string key, const std::vector<T>& items, F to_value) {
  if (items.empty()) return;
  json::Array a;
  a.reserve(items.size());
  for (const T& item : items) a.push_back(to_value(item));
  Put(obj, std::move(key), Value(std::move(a)));
}

Value IdMappingValue(const IdMapping& m) {
  Value v = NewObject();
  Put(v, "containerID", m.container_id);
  Put(v, "hostID", m.host_id);
  Put(v, "size", m.size);
  return v;
}

Value UserValue(const User& u) {
  Value v = NewObject();
  Put(v, "uid", u.uid);
  Put(v, "gid", u.gid);
  PutOpt(v, "umask", u.umask);
  PutList(v, "additionalGids", u.additional_gids, [](uint32_t g) { return Value(g); });
  PutOpt(v, "username", u.username);
  return v;
}

Value CapabilitiesValue(const Capabilities& c) {
  Value v = NewObject();
  PutOpt(v, "bounding", c.bounding);
  PutOpt(v, "effective", c.effective);
  PutOpt(v, "inheritable", c.inheritable);
  PutOpt(v, "permitted", c.permitted);
  PutOpt(v, "ambient", c.ambient);
  return v;
}

Value RlimitValue(const Rlimit& r) {
  Value v = NewObject();
  Put(v, "type", r.type);
  Put(v, "hard", r.hard);
  Put(v, "soft", r.soft);
  return v;
}

Value ProcessValue(const Process& p) {
  Value v = NewObject();
  PutOpt(v, "terminal", p.terminal);
  if (p.console_size) {
    Value c = NewObject();
    Put(c, "height", p.console_size->height);
    Put(c, "width", p.console_size->width);
    Put(v, "consoleSize", std::move(c));
  }
  Put(v, "user", UserValue(p.user));
  Put(v, "args", StringList(p.args));
  PutOpt(v, "env", p.env);
  Put(v, "cwd", p.cwd);
  if (p.capabilities) Put(v, "capabilities", CapabilitiesValue(*p.capabilities));
  PutList(v, "rlimits", p.rlimits, RlimitValue);
  PutOpt(v, "noNewPrivileges", p.no_new_privileges);
  PutOpt(v, "apparmorProfile", p.apparmor_profile);
  PutOpt(v, "oomScoreAdj", p.oom_score_adj);
  PutOpt(v, "selinuxLabel", p.selinux_label);
  return v;
}

Value MountValue(const Mount& m) {
  Value v = NewObject();
  Put(v, "destination", m.destination);
  PutOpt(v, "type", m.type);
  PutOpt(v, "source", m.source);
  PutOpt(v, "options", m.options);
  PutList(v, "uidMappings", m.uid_mappings, IdMappingValue);
  PutList(v, "gidMappings", m.gid_mappings, IdMappingValue);
  return v;
}

Value HookValue(const Hook& h) {
  Value v = NewObject();
  Put(v, "path", h.path);
  PutOpt(v, "args", h.args);
  PutOpt(v, "env", h.env);
  PutOpt(v, "timeout", h.timeout);
  return v;
}

Value HooksValue(const Hooks& h) {
  Value v = NewObject();
  PutList(v, "prestart", h.prestart, HookValue);
  PutList(v, "createRuntime", h.create_runtime, HookValue);
  PutList(v, "createContainer", h.create_container, HookValue);
  PutList(v, "startContainer", h.start_container, HookValue);
  PutList(v, "poststart", h.poststart, HookValue);
  PutList(v, "poststop", h.poststop, HookValue);
  return v;
}

Value DeviceValue(const Device& d) {
  Value v = NewObject();
  Put(v, "type", d.type);
  Put(v, "path", d.path);
  Put(v, "major", d.major);
  Put(v, "minor", d.minor);
  PutOpt(v, "fileMode", d.file_mode);
  PutOpt(v, "uid", d.uid);
  PutOpt(v, "gid", d.gid);
  return v;
}

Value SeccompArgValue(const SeccompArg& a) {
  Value v = NewObject();
  Put(v, "index", a.index);
  Put(v, "value", a.value);
  if (a.value_two != 0) Put(v, "valueTwo", a.value_two);
  Put(v, "op", a.op);
  return v;
}

Value SeccompSyscallValue(const SeccompSyscall& s) {
  Value v = NewObject();
  Put(v, "names", StringList(s.names));
  Put(v, "action", s.action);
  PutOpt(v, "errnoRet", s.errno_ret);
  PutList(v, "args", s.args, SeccompArgValue);
  return v;
}

Value SeccompValue(const Seccomp& s) {
  Value v = NewObject();
  Put(v, "defaultAction", s.default_action);
  PutOpt(v, "defaultErrnoRet", s.default_errno_ret);
  PutOpt(v, "architectures", s.architectures);
  PutOpt(v, "flags", s.flags);
  PutOpt(v, "listenerPath", s.listener_path);
  PutOpt(v, "listenerMetadata", s.listener_metadata);
  PutList(v, "syscalls", s.syscalls, SeccompSyscallValue);
  return v;
}

Value NamespaceValue(const Namespace& n) {
  Value v = NewObject();
  Put(v, "type", n.type);
  PutOpt(v, "path", n.path);
  return v;
}

void PutTimeOffsets(Value& v, const std::map<std::string, TimeOffset>& offsets) {
  if (offsets.empty()) return;
  Value o = NewObject();
  for (const auto& [name, t] : offsets) {
    Value e = NewObject();
    Put(e, "secs", t.secs);
    Put(e, "nanosecs", t.nanosecs);
    Put(o, name, std::move(e));
  }
  Put(v, "timeOffsets", std::move(o));
}

Value LinuxValue(const Linux& l) {
  Value v = NewObject();
  PutList(v, "namespaces", l.namespaces, NamespaceValue);
  PutList(v, "uidMappings", l.uid_mappings, IdMappingValue);
  PutList(v, "gidMappings", l.gid_mappings, IdMappingValue);
  PutOpt(v, "sysctl", l.sysctl);
  if (l.resources) Put(v, "resources", internal::ResourcesValue(*l.resources));
  PutOpt(v, "cgroupsPath", l.cgroups_path);
  PutList(v, "devices", l.devices, DeviceValue);
  if (l.seccomp) Put(v, "seccomp", SeccompValue(*l.seccomp));
  PutOpt(v, "rootfsPropagation", l.rootfs_propagation);
  PutOpt(v, "maskedPaths", l.masked_paths);
  PutOpt(v, "readonlyPaths", l.readonly_paths);
  PutOpt(v, "mountLabel", l.mount_label);
  PutTimeOffsets(v, l.time_offsets);
  return v;
}

// --- resources ---

Value DeviceRuleValue(const DeviceCgroupRule& d) {
  Value v = NewObject();
  Put(v, "allow", d.allow);
  PutOpt(v, "type", d.type);
  PutOpt(v, "major", d.major);
  PutOpt(v, "minor", d.minor);
  PutOpt(v, "access", d.access);
  return v;
}

Value MemoryValue(const Memory& m) {
  Value v = NewObject();
  PutOpt(v, "limit", m.limit);
  PutOpt(v, "reservation", m.reservation);
  PutOpt(v, "swap", m.swap);
  PutOpt(v, "kernel", m.kernel);
  PutOpt(v, "kernelTCP", m.kernel_tcp);
  PutOpt(v, "swappiness", m.swappiness);
  PutOpt(v, "disableOOMKiller", m.disable_oom_killer);
  PutOpt(v, "useHierarchy", m.use_hierarchy);
  PutOpt(v, "checkBeforeUpdate", m.check_before_update);
  return v;
}

Value CpuValue(const Cpu& c) {
  Value v = NewObject();
  PutOpt(v, "shares", c.shares);
  PutOpt(v, "quota", c.quota);
  PutOpt(v, "period", c.period);
  PutOpt(v, "realtimeRuntime", c.realtime_runtime);
  PutOpt(v, "realtimePeriod", c.realtime_period);
  PutOpt(v, "cpus", c.cpus);
  PutOpt(v, "mems", c.mems);
  PutOpt(v, "idle", c.idle);
  return v;
}

Value WeightDeviceValue(const WeightDevice& d) {
  Value v = NewObject();
  Put(v, "major", d.major);
  Put(v, "minor", d.minor);
  PutOpt(v, "weight", d.weight);
  PutOpt(v, "leafWeight", d.leaf_weight);
  return v;
}

Value ThrottleDeviceValue(const ThrottleDevice& d) {
  Value v = NewObject();
  Put(v, "major", d.major);
  Put(v, "minor", d.minor);
  Put(v, "rate", d.rate);
  return v;
}

Value BlockIoValue(const BlockIo& b) {
  Value v = NewObject();
  PutOpt(v, "weight", b.weight);
  PutOpt(v, "leafWeight", b.leaf_weight);
  PutList(v, "weightDevice", b.weight_device, WeightDeviceValue);
  PutList(v, "throttleReadBpsDevice", b.throttle_read_bps, ThrottleDeviceValue);
  PutList(v, "throttleWriteBpsDevice", b.throttle_write_bps, ThrottleDeviceValue);
  PutList(v, "throttleReadIOPSDevice", b.throttle_read_iops, ThrottleDeviceValue);
  PutList(v, "throttleWriteIOPSDevice", b.throttle_write_iops, ThrottleDeviceValue);
  return v;
}

Value HugepageValue(const HugepageLimit& h) {
  Value v = NewObject();
  Put(v, "pageSize", h.page_size);
  Put(v, "limit", h.limit);
  return v;
}

Value SpecValue(const Spec& s) {
  Value v = NewObject();
  Put(v, "ociVersion", s.oci_version);
  if (s.process) Put(v, "process", ProcessValue(*s.process));
  Value root = NewObject();
  Put(root, "path", s.root.path);
  PutOpt(root, "readonly", s.root.readonly);
  Put(v, "root", std::move(root));
  PutOpt(v, "hostname", s.hostname);
  PutOpt(v, "domainname", s.domainname);
  PutList(v, "mounts", s.mounts, MountValue);
  Value hooks = HooksValue(s.hooks);
  if (!hooks.as_object().empty()) Put(v, "hooks", std::move(hooks));
  PutOpt(v, "annotations", s.annotations);
  if (s.linux) Put(v, "linux", LinuxValue(*s.linux));
  return v;
}

}  // namespace

namespace internal {

Value ResourcesValue(const Resources& r) {
  Value v = NewObject();
  PutList(v, "devices", r.devices, DeviceRuleValue);
  if (r.memory) Put(v, "memory", MemoryValue(*r.memory));
  if (r.cpu) Put(v, "cpu", CpuValue(*r.cpu));
  if (r.pids) {
    Value p = NewObject();
    Put(p, "limit", r.pids->limit);
    Put(v, "pids", std::move(p));
  }
  if (r.block_io) Put(v, "blockIO", BlockIoValue(*r.block_io));
  PutList(v, "hugepageLimits", r.hugepage_limits, HugepageValue);
  PutOpt(v, "unified", r.unified);
  return v;
}

}  // namespace internal

std::string SerializeSpec(const Spec& spec, bool pretty) {
  return json::Write(SpecValue(spec), pretty);
}

std::string SerializeProcess(const Process& process, bool pretty) {
  return json::Write(ProcessValue(process), pretty);
}

std::string SerializeResources(const Resources& resources, bool pretty) {
  return json::Write(internal::ResourcesValue(resources), pretty);
}

std::string SerializeSeccomp(const Seccomp& seccomp) { return json::Write(SeccompValue(seccomp)); }

std::string SerializeState(const State& state) {
  Value v = NewObject();
  Put(v, "ociVersion", state.oci_version);
  Put(v, "id", state.id);
  Put(v, "status", state.status);
  if (state.pid != 0) Put(v, "pid", state.pid);
  Put(v, "bundle", state.bundle);
  PutOpt(v, "annotations", state.annotations);
  return json::Write(v);
}

}  // namespace peapod::oci
