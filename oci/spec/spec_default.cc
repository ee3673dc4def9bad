// DefaultSpec(): the starter config `pea spec` prints, matching `runc spec`
// (runc 1.2: no ambient capabilities) with hostname "pea".
#include <linux/magic.h>
#include <sys/vfs.h>

#include "oci/spec/spec.h"

namespace peapod::oci {
namespace {

Process DefaultProcess() {
  Process p;
  p.terminal = true;
  p.args = {"sh"};
  p.env = {"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "TERM=xterm"};
  p.cwd = std::string(1, '/');  // not = "/": GCC 12 -O3 warns falsely (PR 105651)
  const std::vector<std::string> caps = {"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"};
  Capabilities c;
  c.bounding = caps;
  c.effective = caps;
  c.permitted = caps;
  p.capabilities = c;
  p.rlimits = {Rlimit{"RLIMIT_NOFILE", 1024, 1024}};
  p.no_new_privileges = true;
  return p;
}

std::vector<Mount> DefaultMounts() {
  return {
      {"/proc", "proc", "proc", {}, {}, {}},
      {"/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}, {}, {}},
      {"/dev/pts",
       "devpts",
       "devpts",
       {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
       {},
       {}},
      {"/dev/shm",
       "tmpfs",
       "shm",
       {"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"},
       {},
       {}},
      {"/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}, {}, {}},
      {"/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", "ro"}, {}, {}},
      {"/sys/fs/cgroup",
       "cgroup",
       "cgroup",
       {"nosuid", "noexec", "nodev", "relatime", "ro"},
       {},
       {}},
  };
}

// True when /sys/fs/cgroup is a pure cgroup2 mount (runc then adds a cgroup
// namespace to the default spec).
bool CgroupUnified() {
  struct statfs fs;
  return statfs("/sys/fs/cgroup", &fs) == 0 && fs.f_type == CGROUP2_SUPER_MAGIC;
}

Linux DefaultLinux() {
  Linux l;
  l.masked_paths = {"/proc/acpi",        "/proc/asound",        "/proc/kcore",
                    "/proc/keys",        "/proc/latency_stats", "/proc/timer_list",
                    "/proc/timer_stats", "/proc/sched_debug",   "/sys/firmware",
                    "/proc/scsi"};
  l.readonly_paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};
  Resources r;
  r.devices = {DeviceCgroupRule{false, "", std::nullopt, std::nullopt, "rwm"}};
  l.resources = r;
  l.namespaces = {{"pid", ""}, {"network", ""}, {"ipc", ""}, {"uts", ""}, {"mount", ""}};
  if (CgroupUnified()) l.namespaces.push_back({"cgroup", ""});
  return l;
}

}  // namespace

Spec DefaultSpec() {
  Spec s;
  s.oci_version = std::string(kOciVersion);
  s.process = DefaultProcess();
  s.root = Root{"rootfs", true};
  s.hostname = "pea";
  s.mounts = DefaultMounts();
  s.linux = DefaultLinux();
  return s;
}

}  // namespace peapod::oci
