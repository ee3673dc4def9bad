#include <stdlib.h>
#include <unistd.h>

#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/spec/json.h"
#include "oci/spec/spec.h"

namespace peapod::oci {
namespace {

using ::testing::HasSubstr;

// A config in the shape containerd's CRI plugin generates for a pod container.
constexpr char kContainerdConfig[] = R"({
  "ociVersion": "1.1.0",
  "process": {
    "user": {"uid": 65534, "gid": 65534, "additionalGids": [65534, 10], "umask": 18},
    "args": ["/pause"],
    "env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
    "cwd": "/",
    "capabilities": {
      "bounding": ["CAP_CHOWN", "CAP_KILL"],
      "effective": ["CAP_CHOWN", "CAP_KILL"],
      "permitted": ["CAP_CHOWN", "CAP_KILL"]
    },
    "noNewPrivileges": true,
    "oomScoreAdj": -998,
    "rlimits": [{"type": "RLIMIT_NOFILE", "hard": 1048576, "soft": 1048576}],
    "consoleSize": {"height": 24, "width": 80},
    "apparmorProfile": "cri-containerd.apparmor.d",
    "futureField": {"ignored": true}
  },
  "root": {"path": "rootfs", "readonly": true},
  "hostname": "web-0",
  "mounts": [
    {"destination": "/proc", "type": "proc", "source": "proc",
     "options": ["nosuid", "noexec", "nodev"]},
    {"destination": "/dev/shm", "type": "bind",
     "source": "/run/containerd/io.containerd.grpc.v1.cri/sandboxes/abc/shm",
     "options": ["rbind", "ro", "nosuid", "nodev", "noexec"]},
    {"destination": "/data", "type": "bind", "source": "/srv/data", "options": ["rbind"],
     "uidMappings": [{"containerID": 0, "hostID": 100000, "size": 65536}]}
  ],
  "hooks": {
    "createRuntime": [{"path": "/usr/bin/nvidia-hook", "args": ["nvidia-hook", "prestart"],
                       "env": ["A=B"], "timeout": 5}],
    "poststop": [{"path": "/bin/true"}]
  },
  "annotations": {
    "io.kubernetes.cri.container-type": "sandbox",
    "io.kubernetes.cri.sandbox-id": "abc"
  },
  "linux": {
    "uidMappings": [{"containerID": 0, "hostID": 1000, "size": 1}],
    "sysctl": {"net.ipv4.ip_unprivileged_port_start": "0"},
    "resources": {
      "devices": [{"allow": false, "access": "rwm"},
                  {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
      "memory": {"limit": 536870912, "swap": -1, "swappiness": 0, "disableOOMKiller": false},
      "cpu": {"shares": 2, "quota": -1, "period": 100000, "cpus": "0-1", "mems": "0", "idle": 0},
      "pids": {"limit": 1024},
      "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 10}],
                  "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
      "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
      "unified": {"memory.high": "max"}
    },
    "cgroupsPath": "kubepods-besteffort-podabc.slice:cri-containerd:abc",
    "namespaces": [
      {"type": "pid"}, {"type": "ipc"}, {"type": "uts"}, {"type": "mount"},
      {"type": "network", "path": "/var/run/netns/cni-1234"}, {"type": "cgroup"}
    ],
    "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229,
                 "fileMode": 438, "uid": 0, "gid": 0}],
    "seccomp": {
      "defaultAction": "SCMP_ACT_ERRNO",
      "defaultErrnoRet": 1,
      "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
      "flags": ["SECCOMP_FILTER_FLAG_LOG"],
      "syscalls": [
        {"names": ["read", "write"], "action": "SCMP_ACT_ALLOW"},
        {"names": ["personality"], "action": "SCMP_ACT_ALLOW",
         "args": [{"index": 0, "value": 4294967295, "op": "SCMP_CMP_EQ"}]},
        {"names": ["clone"], "action": "SCMP_ACT_ERRNO", "errnoRet": 38,
         "args": [{"index": 0, "value": 2114060288, "valueTwo": 0, "op": "SCMP_CMP_MASKED_EQ"}]}
      ]
    },
    "maskedPaths": ["/proc/acpi", "/proc/kcore"],
    "readonlyPaths": ["/proc/bus", "/proc/sys"],
    "rootfsPropagation": "rslave",
    "mountLabel": "",
    "timeOffsets": {"monotonic": {"secs": 10, "nanosecs": 5}}
  }
})";

// Parses text, expecting failure, and returns the error message.
std::string ParseError(const std::string& text) {
  absl::StatusOr<Spec> s = ParseSpec(text);
  EXPECT_FALSE(s.ok()) << "parsed: " << text;
  if (s.ok()) return "";
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.status().message());
}

// A minimal valid document with `extra` members spliced into the top level.
std::string Minimal(const std::string& extra) {
  return R"({"ociVersion": "1.1.0", "root": {"path": "rootfs"})" +
         (extra.empty() ? std::string() : ", " + extra) + "}";
}

TEST(SpecParse, ContainerdConfig) {
  absl::StatusOr<Spec> s = ParseSpec(kContainerdConfig);
  ASSERT_TRUE(s.ok()) << s.status();
  ASSERT_TRUE(s->process.has_value());
  EXPECT_EQ(s->process->user.uid, 65534u);
  EXPECT_EQ(s->process->user.umask, 18u);
  EXPECT_EQ(s->process->user.additional_gids, (std::vector<uint32_t>{65534, 10}));
  EXPECT_EQ(s->process->oom_score_adj, -998);
  EXPECT_EQ(s->process->rlimits[0].hard, 1048576u);
  EXPECT_EQ(s->process->console_size->width, 80u);
  EXPECT_EQ(s->process->capabilities->bounding.size(), 2u);
  EXPECT_TRUE(s->root.readonly);
  EXPECT_EQ(s->mounts.size(), 3u);
  EXPECT_EQ(s->mounts[2].uid_mappings[0].host_id, 100000u);
  EXPECT_EQ(s->hooks.create_runtime[0].timeout, 5);
  EXPECT_EQ(s->hooks.poststop[0].path, "/bin/true");
  EXPECT_EQ(s->annotations.at("io.kubernetes.cri.sandbox-id"), "abc");
  const Linux& l = *s->linux;
  EXPECT_EQ(l.namespaces[4].path, "/var/run/netns/cni-1234");
  EXPECT_EQ(l.resources->memory->limit, 536870912);
  EXPECT_EQ(l.resources->memory->swap, -1);
  EXPECT_EQ(l.resources->cpu->quota, -1);
  EXPECT_EQ(l.resources->cpu->cpus, "0-1");
  EXPECT_EQ(l.resources->pids->limit, 1024);
  EXPECT_EQ(l.resources->block_io->weight_device[0].weight, 10);
  EXPECT_EQ(l.resources->devices[1].major, 1);
  EXPECT_FALSE(l.resources->devices[0].major.has_value());
  EXPECT_EQ(l.resources->unified.at("memory.high"), "max");
  EXPECT_EQ(l.devices[0].file_mode, 438u);
  EXPECT_EQ(l.seccomp->syscalls[1].args[0].value, 4294967295u);
  EXPECT_EQ(l.seccomp->syscalls[2].errno_ret, 38u);
  EXPECT_EQ(l.seccomp->default_errno_ret, 1u);
  EXPECT_EQ(l.time_offsets.at("monotonic").nanosecs, 5u);
  EXPECT_EQ(l.sysctl.at("net.ipv4.ip_unprivileged_port_start"), "0");
}

TEST(SpecParse, RoundTrip) {
  absl::StatusOr<Spec> s = ParseSpec(kContainerdConfig);
  ASSERT_TRUE(s.ok()) << s.status();
  for (bool pretty : {false, true}) {
    std::string text = SerializeSpec(*s, pretty);
    absl::StatusOr<Spec> back = ParseSpec(text);
    ASSERT_TRUE(back.ok()) << back.status() << "\n" << text;
    EXPECT_EQ(*back, *s);
  }
}

TEST(SpecParse, RoundTripOmitsAbsentOptionals) {
  absl::StatusOr<Spec> s = ParseSpec(Minimal(""));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_FALSE(s->process.has_value());
  EXPECT_FALSE(s->linux.has_value());
  EXPECT_EQ(SerializeSpec(*s), R"({"ociVersion":"1.1.0","root":{"path":"rootfs"}})");
}

TEST(SpecParse, Uint64MaxAndNegativeInts) {
  absl::StatusOr<Spec> s = ParseSpec(Minimal(R"("process": {"args": ["a"], "cwd": "/",
      "rlimits": [{"type": "RLIMIT_CORE", "hard": 18446744073709551615,
                   "soft": 18446744073709551615}], "oomScoreAdj": -1000},
      "linux": {"resources": {"memory": {"limit": -1}, "cpu": {"quota": -50000}}})"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->process->rlimits[0].hard, std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(s->process->oom_score_adj, -1000);
  EXPECT_EQ(s->linux->resources->cpu->quota, -50000);
  absl::StatusOr<Spec> back = ParseSpec(SerializeSpec(*s));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, *s);
}

TEST(SpecParse, RequiredMembers) {
  EXPECT_EQ(ParseError(R"({"root": {"path": "r"}})"), "$.ociVersion: required member missing");
  EXPECT_EQ(ParseError(R"({"ociVersion": "1.1.0"})"), "$.root: required member missing");
  EXPECT_EQ(ParseError(R"({"ociVersion": "1.1.0", "root": {}})"),
            "$.root.path: required member missing");
  EXPECT_EQ(ParseError(Minimal(R"("process": {"args": ["sh"]})")),
            "$.process.cwd: required member missing");
  EXPECT_THAT(ParseError(Minimal(R"("process": {"args": ["sh"], "cwd": "tmp"})")),
              HasSubstr("$.process.cwd: must be an absolute path"));
  EXPECT_EQ(ParseError(Minimal(R"("process": {"cwd": "/"})")),
            "$.process.args: required member missing");
  EXPECT_EQ(ParseError(Minimal(R"("process": {"cwd": "/", "args": []})")),
            "$.process.args: must not be empty");
  EXPECT_EQ(ParseError(Minimal(R"("mounts": [{"destination": "/a"}, {"destination": "/b"},
                                             {"type": "tmpfs"}])")),
            "$.mounts[2].destination: required member missing");
  EXPECT_EQ(ParseError(Minimal(R"("hooks": {"poststart": [{"args": ["x"]}]})")),
            "$.hooks.poststart[0].path: required member missing");
  EXPECT_EQ(ParseError(Minimal(R"("linux": {"namespaces": [{"path": "/x"}]})")),
            "$.linux.namespaces[0].type: required member missing");
  EXPECT_EQ(ParseError(Minimal(R"("linux": {"devices": [{"type": "c"}]})")),
            "$.linux.devices[0].path: required member missing");
  EXPECT_EQ(ParseError(Minimal(R"("linux": {"devices": [{"path": "/dev/x"}]})")),
            "$.linux.devices[0].type: required member missing");
  EXPECT_EQ(ParseError(Minimal(R"("linux": {"seccomp": {"syscalls": []}})")),
            "$.linux.seccomp.defaultAction: required member missing");
  EXPECT_EQ(ParseError(Minimal(R"("linux": {"resources": {"pids": {}}})")),
            "$.linux.resources.pids.limit: required member missing");
}

TEST(SpecParse, NamespaceValidation) {
  EXPECT_EQ(ParseError(Minimal(R"("linux": {"namespaces": [{"type": "net"}]})")),
            "$.linux.namespaces[0].type: unknown namespace type \"net\"");
  EXPECT_EQ(ParseError(Minimal(R"("linux": {"namespaces": [{"type": "pid"}, {"type": "pid"}]})")),
            "$.linux.namespaces[1].type: duplicate namespace \"pid\"");
  for (const char* t : {"pid", "network", "mount", "ipc", "uts", "user", "cgroup", "time"}) {
    EXPECT_TRUE(
        ParseSpec(Minimal(std::string(R"("linux": {"namespaces": [{"type": ")") + t + R"("}]})"))
            .ok())
        << t;
  }
}

TEST(SpecParse, WrongTypesNameThePath) {
  EXPECT_EQ(ParseError(Minimal(R"("process": {"args": ["a"], "cwd": "/",
                                              "user": {"uid": "root"}})")),
            "$.process.user.uid: expected unsigned 32-bit integer, got string");
  EXPECT_EQ(ParseError(Minimal(R"("process": {"args": ["a"], "cwd": "/",
                                              "user": {"uid": -1}})")),
            "$.process.user.uid: expected unsigned 32-bit integer, got integer -1");
  EXPECT_EQ(ParseError(Minimal(R"("process": {"args": ["a", 1], "cwd": "/"})")),
            "$.process.args[1]: expected string, got integer 1");
  EXPECT_EQ(ParseError(Minimal(R"("mounts": {"destination": "/a"})")),
            "$.mounts: expected array, got object");
  EXPECT_EQ(ParseError(Minimal(R"("annotations": {"a": true})")),
            "$.annotations.a: expected string, got boolean");
  EXPECT_EQ(ParseError(Minimal(R"("linux": {"resources": {"blockIO": {"weight": 70000}}})")),
            "$.linux.resources.blockIO.weight: expected unsigned 16-bit integer, got integer "
            "70000");
  EXPECT_EQ(ParseError(R"({"ociVersion": 1, "root": {"path": "r"}})"),
            "$.ociVersion: expected string, got integer 1");
  EXPECT_EQ(ParseError("[]"), "$: expected object, got array");
  EXPECT_EQ(ParseError(Minimal(R"("root2": 1, "process": {"args": ["a"], "cwd": "/",
                                  "terminal": "yes"})")),
            "$.process.terminal: expected boolean, got string");
}

TEST(SpecParse, MalformedJson) {
  EXPECT_THAT(ParseError("{\"ociVersion\": \"1.1.0\",\n \"root\": {\"path\": }}"),
              HasSubstr("line 2"));
  EXPECT_THAT(ParseError(Minimal(R"("hostname": "a", "hostname": "b")")),
              HasSubstr("duplicate key \"hostname\""));
}

TEST(SpecParse, UnknownMembersIgnoredAndNullIsAbsent) {
  absl::StatusOr<Spec> s =
      ParseSpec(Minimal(R"("vm": {"hypervisor": {}}, "hostname": null, "linux": {"x": 1})"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->hostname, "");
  EXPECT_TRUE(s->linux.has_value());
}

TEST(SpecParse, HookTimeoutMustBePositive) {
  EXPECT_EQ(ParseError(Minimal(R"("hooks": {"prestart": [{"path": "/x", "timeout": 0}]})")),
            "$.hooks.prestart[0].timeout: must be greater than zero");
}

TEST(ProcessDoc, ParseAndRoundTrip) {
  absl::StatusOr<Process> p =
      ParseProcess(R"({"args": ["ls", "-l"], "cwd": "/tmp", "env": ["A=1"], "terminal": true,
                      "user": {"uid": 1, "gid": 2}})");
  ASSERT_TRUE(p.ok()) << p.status();
  EXPECT_EQ(p->args[1], "-l");
  EXPECT_TRUE(p->terminal);
  EXPECT_EQ(*ParseProcess(SerializeProcess(*p, true)), *p);
  absl::StatusOr<Process> bad = ParseProcess(R"({"args": ["ls"]})");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().message(), "$.cwd: required member missing");
}

TEST(ResourcesDoc, ParseAndRoundTrip) {
  absl::StatusOr<Resources> r = ParseResources(
      R"({"memory": {"limit": 1000, "checkBeforeUpdate": true}, "cpu": {"shares": 512},
          "pids": {"limit": -1}, "blockIO": {"throttleWriteIOPSDevice":
          [{"major": 8, "minor": 16, "rate": 100}]}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->memory->check_before_update, true);
  EXPECT_EQ(r->pids->limit, -1);
  EXPECT_EQ(r->block_io->throttle_write_iops[0].rate, 100u);
  EXPECT_EQ(*ParseResources(SerializeResources(*r)), *r);
  EXPECT_FALSE(ParseResources(R"({"devices": [{"allow": true, "access": "rwx"}]})").ok());
}

TEST(StateDoc, ParseAndRoundTrip) {
  State st{"1.1.0", "c1", "running", 4242, "/run/b", {{"k", "v"}}};
  std::string text = SerializeState(st);
  absl::StatusOr<State> back = ParseState(text);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, st);
  State stopped{"1.1.0", "c1", "stopped", 0, "/run/b", {}};
  EXPECT_THAT(SerializeState(stopped), ::testing::Not(HasSubstr("pid")));
  EXPECT_EQ(ParseState(R"({"ociVersion": "1.1.0", "status": "running"})").status().message(),
            "$.id: required member missing");
}

TEST(DefaultSpec, MatchesRuncStarterConfig) {
  Spec s = DefaultSpec();
  EXPECT_EQ(s.oci_version, kOciVersion);
  ASSERT_TRUE(s.process.has_value());
  EXPECT_EQ(s.process->args, std::vector<std::string>{"sh"});
  EXPECT_TRUE(s.process->terminal);
  EXPECT_TRUE(s.process->no_new_privileges);
  EXPECT_EQ(s.process->env.size(), 2u);
  EXPECT_EQ(s.process->env[1], "TERM=xterm");
  EXPECT_EQ(s.process->capabilities->effective,
            (std::vector<std::string>{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}));
  EXPECT_EQ(s.process->rlimits[0].type, "RLIMIT_NOFILE");
  EXPECT_EQ(s.process->rlimits[0].soft, 1024u);
  EXPECT_EQ(s.root.path, "rootfs");
  EXPECT_TRUE(s.root.readonly);
  EXPECT_EQ(s.hostname, "pea");
  ASSERT_EQ(s.mounts.size(), 7u);
  EXPECT_EQ(s.mounts[2].destination, "/dev/pts");
  EXPECT_EQ(s.mounts[6].type, "cgroup");
  EXPECT_EQ(s.linux->masked_paths.size(), 10u);
  EXPECT_EQ(s.linux->readonly_paths.size(), 5u);
  EXPECT_GE(s.linux->namespaces.size(), 5u);
  EXPECT_EQ(s.linux->namespaces[0].type, "pid");
  EXPECT_EQ(s.linux->resources->devices[0].access, "rwm");
  absl::StatusOr<Spec> back = ParseSpec(SerializeSpec(s, true));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(*back, s);
}

}  // namespace
}  // namespace peapod::oci

namespace peapod::oci {
namespace {

// `runc spec` output parses, and DefaultSpec differs from it only where
// peapod chooses to: hostname, version, and runc 1.1's ambient capabilities.
TEST(DefaultSpec, AgreesWithRuncSpec) {
  if (system("command -v runc >/dev/null 2>&1") != 0) GTEST_SKIP() << "runc not installed";
  char dir[] = "/tmp/peapod_runc_spec_XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string cmd = std::string("cd ") + dir + " && runc spec";
  ASSERT_EQ(system(cmd.c_str()), 0);
  std::string path = std::string(dir) + "/config.json";
  absl::StatusOr<Spec> runc = LoadSpec(path);
  unlink(path.c_str());
  rmdir(dir);
  ASSERT_TRUE(runc.ok()) << runc.status();
  Spec ours = DefaultSpec();
  runc->oci_version = ours.oci_version;
  runc->hostname = ours.hostname;
  runc->process->capabilities->ambient.clear();
  runc->linux->namespaces = ours.linux->namespaces;
  EXPECT_EQ(SerializeSpec(*runc, true), SerializeSpec(ours, true));
  EXPECT_EQ(*runc, ours);
}

}  // namespace
}  // namespace peapod::oci
