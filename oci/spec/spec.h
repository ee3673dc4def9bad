// OCI runtime-spec 1.1 config.json as typed C++ structs.
//
// Every JSON read and write of the project's OCI documents goes through
// oci/spec/: these structs are the only shape the rest of the code sees.
// Optional JSON members are std::optional (or empty containers / strings
// where the spec gives "absent" and "empty" the same meaning).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace peapod::oci {

inline constexpr std::string_view kOciVersion = "1.1.0";

struct IdMapping {
  uint32_t container_id = 0;  // "containerID"
  uint32_t host_id = 0;       // "hostID"
  uint32_t size = 0;          // "size"

  bool operator==(const IdMapping&) const = default;
};

struct User {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::optional<uint32_t> umask;
  std::vector<uint32_t> additional_gids;  // "additionalGids"
  std::string username;                   // Windows only; kept for round trips

  bool operator==(const User&) const = default;
};

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE" ...
  uint64_t hard = 0;
  uint64_t soft = 0;

  bool operator==(const Rlimit&) const = default;
};

struct Capabilities {
  std::vector<std::string> bounding, effective, inheritable, permitted, ambient;

  bool operator==(const Capabilities&) const = default;
};

struct ConsoleSize {
  uint32_t height = 0;
  uint32_t width = 0;

  bool operator==(const ConsoleSize&) const = default;
};

struct Process {
  bool terminal = false;
  std::optional<ConsoleSize> console_size;  // "consoleSize"
  User user;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd;  // required, absolute
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;    // "noNewPrivileges"
  std::string apparmor_profile;      // "apparmorProfile"
  std::optional<int> oom_score_adj;  // "oomScoreAdj"
  std::string selinux_label;         // "selinuxLabel"

  bool operator==(const Process&) const = default;
};

struct Root {
  std::string path;  // required; relative paths are relative to the bundle
  bool readonly = false;

  bool operator==(const Root&) const = default;
};

struct Mount {
  std::string destination;  // required, absolute inside the container
  std::string type;
  std::string source;
  std::vector<std::string> options;
  std::vector<IdMapping> uid_mappings;  // "uidMappings"
  std::vector<IdMapping> gid_mappings;  // "gidMappings"

  bool operator==(const Mount&) const = default;
};

struct Hook {
  std::string path;  // required, absolute
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds, > 0

  bool operator==(const Hook&) const = default;
};

struct Hooks {
  std::vector<Hook> prestart;          // deprecated, still honoured
  std::vector<Hook> create_runtime;    // "createRuntime"
  std::vector<Hook> create_container;  // "createContainer"
  std::vector<Hook> start_container;   // "startContainer"
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;

  bool operator==(const Hooks&) const = default;
};

struct Namespace {
  std::string type;  // pid network mount ipc uts user cgroup time
  std::string path;  // empty: create a new one

  bool operator==(const Namespace&) const = default;
};

struct Device {
  std::string type;  // c b u p
  std::string path;  // required
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint32_t> file_mode;  // "fileMode"
  std::optional<uint32_t> uid;
  std::optional<uint32_t> gid;

  bool operator==(const Device&) const = default;
};

struct DeviceCgroupRule {
  bool allow = false;
  std::string type;  // a c b, empty = all
  std::optional<int64_t> major;
  std::optional<int64_t> minor;
  std::string access;  // rwm subset

  bool operator==(const DeviceCgroupRule&) const = default;
};

struct Memory {
  std::optional<int64_t> limit;
  std::optional<int64_t> reservation;
  std::optional<int64_t> swap;
  std::optional<int64_t> kernel;
  std::optional<int64_t> kernel_tcp;  // "kernelTCP"
  std::optional<uint64_t> swappiness;
  std::optional<bool> disable_oom_killer;   // "disableOOMKiller"
  std::optional<bool> use_hierarchy;        // "useHierarchy"
  std::optional<bool> check_before_update;  // "checkBeforeUpdate"

  bool operator==(const Memory&) const = default;
};

struct Cpu {
  std::optional<uint64_t> shares;
  std::optional<int64_t> quota;
  std::optional<uint64_t> period;
  std::optional<int64_t> realtime_runtime;  // "realtimeRuntime"
  std::optional<uint64_t> realtime_period;  // "realtimePeriod"
  std::string cpus;
  std::string mems;
  std::optional<int64_t> idle;

  bool operator==(const Cpu&) const = default;
};

struct Pids {
  int64_t limit = 0;  // required inside "pids"; <= 0 means unlimited

  bool operator==(const Pids&) const = default;
};

struct HugepageLimit {
  std::string page_size;  // "pageSize", e.g. "2MB"
  uint64_t limit = 0;

  bool operator==(const HugepageLimit&) const = default;
};

struct WeightDevice {
  int64_t major = 0;
  int64_t minor = 0;
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;  // "leafWeight"

  bool operator==(const WeightDevice&) const = default;
};

struct ThrottleDevice {
  int64_t major = 0;
  int64_t minor = 0;
  uint64_t rate = 0;

  bool operator==(const ThrottleDevice&) const = default;
};

struct BlockIo {
  std::optional<uint16_t> weight;
  std::optional<uint16_t> leaf_weight;              // "leafWeight"
  std::vector<WeightDevice> weight_device;          // "weightDevice"
  std::vector<ThrottleDevice> throttle_read_bps;    // "throttleReadBpsDevice"
  std::vector<ThrottleDevice> throttle_write_bps;   // "throttleWriteBpsDevice"
  std::vector<ThrottleDevice> throttle_read_iops;   // "throttleReadIOPSDevice"
  std::vector<ThrottleDevice> throttle_write_iops;  // "throttleWriteIOPSDevice"

  bool operator==(const BlockIo&) const = default;
};

struct Resources {
  std::vector<DeviceCgroupRule> devices;
  std::optional<Memory> memory;
  std::optional<Cpu> cpu;
  std::optional<Pids> pids;
  std::optional<BlockIo> block_io;             // "blockIO"
  std::vector<HugepageLimit> hugepage_limits;  // "hugepageLimits"
  std::map<std::string, std::string> unified;  // cgroup v2 key/value pairs

  bool operator==(const Resources&) const = default;
};

struct SeccompArg {
  uint32_t index = 0;
  uint64_t value = 0;
  uint64_t value_two = 0;  // "valueTwo"
  std::string op;          // SCMP_CMP_EQ ...

  bool operator==(const SeccompArg&) const = default;
};

struct SeccompSyscall {
  std::vector<std::string> names;
  std::string action;                 // SCMP_ACT_ERRNO ...
  std::optional<uint32_t> errno_ret;  // "errnoRet"
  std::vector<SeccompArg> args;

  bool operator==(const SeccompSyscall&) const = default;
};

struct Seccomp {
  std::string default_action;                 // "defaultAction", required
  std::optional<uint32_t> default_errno_ret;  // "defaultErrnoRet"
  std::vector<std::string> architectures;     // SCMP_ARCH_X86_64 ...
  std::vector<std::string> flags;             // SECCOMP_FILTER_FLAG_LOG ...
  std::string listener_path;                  // "listenerPath"
  std::string listener_metadata;              // "listenerMetadata"
  std::vector<SeccompSyscall> syscalls;

  bool operator==(const Seccomp&) const = default;
};

struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;

  bool operator==(const TimeOffset&) const = default;
};

struct Linux {
  std::vector<Namespace> namespaces;
  std::vector<IdMapping> uid_mappings;  // "uidMappings"
  std::vector<IdMapping> gid_mappings;  // "gidMappings"
  std::map<std::string, std::string> sysctl;
  std::optional<Resources> resources;
  std::string cgroups_path;  // "cgroupsPath"
  std::vector<Device> devices;
  std::optional<Seccomp> seccomp;
  std::string rootfs_propagation;                  // "rootfsPropagation"
  std::vector<std::string> masked_paths;           // "maskedPaths"
  std::vector<std::string> readonly_paths;         // "readonlyPaths"
  std::string mount_label;                         // "mountLabel"
  std::map<std::string, TimeOffset> time_offsets;  // "timeOffsets": "monotonic", "boottime"

  bool operator==(const Linux&) const = default;
};

struct Spec {
  std::string oci_version;  // "ociVersion", required
  std::optional<Process> process;
  Root root;  // required on Linux
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  std::optional<Linux> linux;

  bool operator==(const Spec&) const = default;
};

// The OCI state document (runtime-spec "State"), as given to hooks on stdin.
struct State {
  std::string oci_version;
  std::string id;
  std::string status;  // creating created running stopped (+ "paused" for runc's view)
  int pid = 0;         // 0 = absent
  std::string bundle;
  std::map<std::string, std::string> annotations;

  bool operator==(const State&) const = default;
};

// Parses a config.json document. Errors name the offending member by its
// JSON path, e.g. `$.process.user.uid: expected unsigned integer, got string`.
absl::StatusOr<Spec> ParseSpec(std::string_view json);
// Reads and parses <path> (normally <bundle>/config.json).
absl::StatusOr<Spec> LoadSpec(const std::string& path);
// Writes a spec as JSON (compact unless pretty).
std::string SerializeSpec(const Spec& spec, bool pretty = false);

// A process.json as given to `pea exec --process`.
absl::StatusOr<Process> ParseProcess(std::string_view json);
std::string SerializeProcess(const Process& process, bool pretty = false);

// A resources document as given to `pea update -r`.
absl::StatusOr<Resources> ParseResources(std::string_view json);
std::string SerializeResources(const Resources& resources, bool pretty = false);

// A linux.seccomp section on its own (e.g. as a cache key for compiled filters).
std::string SerializeSeccomp(const Seccomp& seccomp);

absl::StatusOr<State> ParseState(std::string_view json);
std::string SerializeState(const State& state);

// The default spec `pea spec` prints: runc's default, rootless = false.
Spec DefaultSpec();

}  // namespace peapod::oci
