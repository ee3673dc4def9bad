// Unit tests of the pure parts: path rules, mountinfo parsing, conversions.
#include <gtest/gtest.h>

#include "oci/cgroups/convert.h"
#include "oci/cgroups/device_filter.h"
#include "oci/cgroups/mode.h"
#include "oci/cgroups/path.h"
#include "oci/cgroups/v2_manager.h"

namespace peapod::cgroups {
namespace {

TEST(CgroupsPath, EmptyUsesDefaultParentAndId) {
  EXPECT_EQ(ResolveCgroupsPath("", "abc").value(), "/pea/abc");
}

TEST(CgroupsPath, AbsoluteAndRelative) {
  EXPECT_EQ(ResolveCgroupsPath("/kubepods/pod1/c", "x").value(), "/kubepods/pod1/c");
  EXPECT_EQ(ResolveCgroupsPath("mygroup/c", "x").value(), "/pea/mygroup/c");
}

TEST(CgroupsPath, RejectsEscapesAndOddComponents) {
  for (const char* bad :
       {"/..", "../x", "/a/../../b", "a/./b", "/a//b", "/a/", "/", "a\nb", "/a/b\x01"}) {
    auto r = ResolveCgroupsPath(bad, "x");
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(ResolveCgroupsPath("", "..").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ResolveCgroupsPath("", "a/b").status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(CgroupsPath, SystemdFormIsRecognisedAndRejected) {
  EXPECT_TRUE(IsSystemdCgroupsPath("system.slice:docker:abc"));
  EXPECT_TRUE(IsSystemdCgroupsPath(":pea:abc"));
  EXPECT_FALSE(IsSystemdCgroupsPath("/a:b:c/d"));
  EXPECT_FALSE(IsSystemdCgroupsPath("/pea/x"));
  auto r = ResolveCgroupsPath("system.slice:docker:abc", "x");
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(r.status().message().find("systemd"), absl::string_view::npos);
}

constexpr char kHybridMountinfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,xattr,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "50 35 0:32 /sub /mnt/memsub rw,relatime - cgroup cgroup rw,memory\n";

TEST(Mountinfo, Hybrid) {
  Host h = ParseMountinfo(kHybridMountinfo).value();
  EXPECT_EQ(h.mode, Mode::kHybrid);
  EXPECT_EQ(h.unified, "/sys/fs/cgroup/unified");
  ASSERT_EQ(h.v1.size(), 3u);
  ASSERT_NE(FindV1(h, "memory"), nullptr);
  EXPECT_EQ(FindV1(h, "memory")->mountpoint, "/sys/fs/cgroup/memory");
  EXPECT_EQ(FindV1(h, "name=systemd")->mountpoint, "/sys/fs/cgroup/systemd");
  EXPECT_EQ(FindV1(h, "pids"), nullptr);
}

TEST(Mountinfo, LegacyWithJointMountAndEscapes) {
  Host h = ParseMountinfo(
               "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct\n"
               "33 31 0:30 / /my\\040cg/pids rw - cgroup cgroup rw,pids\n")
               .value();
  EXPECT_EQ(h.mode, Mode::kLegacy);
  EXPECT_TRUE(h.unified.empty());
  EXPECT_EQ(FindV1(h, "cpuacct")->mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(FindV1(h, "cpu"), FindV1(h, "cpuacct"));
  EXPECT_EQ(FindV1(h, "pids")->mountpoint, "/my cg/pids");
}

TEST(Mountinfo, Unified) {
  Host h = ParseMountinfo(
               "30 23 0:26 / /sys/fs/cgroup rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n")
               .value();
  EXPECT_EQ(h.mode, Mode::kUnified);
  EXPECT_EQ(h.unified, "/sys/fs/cgroup");
  EXPECT_TRUE(h.v1.empty());
}

TEST(Mountinfo, NoCgroupsIsAnError) {
  EXPECT_EQ(ParseMountinfo("1 0 8:1 / / rw - ext4 /dev/sda1 rw\n").status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST(Convert, CpuSharesToWeight) {
  EXPECT_EQ(CpuSharesToWeight(0), 0u);
  EXPECT_EQ(CpuSharesToWeight(2), 1u);
  EXPECT_EQ(CpuSharesToWeight(1024), 39u);
  EXPECT_EQ(CpuSharesToWeight(262144), 10000u);
  EXPECT_EQ(CpuSharesToWeight(1u << 30), 10000u);  // clamped
}

TEST(Convert, SwapMax) {
  EXPECT_EQ(SwapMaxValue(-1, 100).value(), "max");
  EXPECT_EQ(SwapMaxValue(300, 100).value(), "200");
  EXPECT_EQ(SwapMaxValue(100, 100).value(), "0");
  EXPECT_EQ(SwapMaxValue(50, 100).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SwapMaxValue(50, std::nullopt).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(SwapMaxValue(50, -1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Convert, LimitsAndCpuMax) {
  EXPECT_EQ(MemoryMaxValue(-1), "max");
  EXPECT_EQ(MemoryMaxValue(4096), "4096");
  EXPECT_EQ(PidsMaxValue(0), "max");
  EXPECT_EQ(PidsMaxValue(-1), "max");
  EXPECT_EQ(PidsMaxValue(42), "42");
  EXPECT_EQ(CpuMaxValue(50000, 100000, "max", 100000), "50000 100000");
  EXPECT_EQ(CpuMaxValue(-1, std::nullopt, "20000", 50000), "max 50000");
  EXPECT_EQ(CpuMaxValue(std::nullopt, 200000, "20000", 100000), "20000 200000");
  EXPECT_EQ(BlkioWeightToIoWeight(10), 1u);
  EXPECT_EQ(BlkioWeightToIoWeight(1000), 10000u);
}

oci::DeviceCgroupRule Rule(bool allow, std::string type, std::optional<int64_t> major,
                           std::optional<int64_t> minor, std::string access) {
  oci::DeviceCgroupRule r;
  r.allow = allow;
  r.type = std::move(type);
  r.major = major;
  r.minor = minor;
  r.access = std::move(access);
  return r;
}

TEST(Convert, DeviceRules) {
  oci::DeviceCgroupRule deny_all = Rule(false, "", std::nullopt, std::nullopt, "rwm");
  EXPECT_TRUE(IsDenyAll(deny_all));
  EXPECT_EQ(DeviceRuleLine(deny_all).value(), "a *:* rwm");
  oci::DeviceCgroupRule null = Rule(true, "c", 1, 3, "rw");
  EXPECT_FALSE(IsDenyAll(null));
  EXPECT_EQ(DeviceRuleLine(null).value(), "c 1:3 rw");
  oci::DeviceCgroupRule any_minor = Rule(true, "b", 8, std::nullopt, "m");
  EXPECT_EQ(DeviceRuleLine(any_minor).value(), "b 8:* m");
  oci::DeviceCgroupRule bad_type = Rule(true, "x", std::nullopt, std::nullopt, "");
  EXPECT_EQ(DeviceRuleLine(bad_type).status().code(), absl::StatusCode::kInvalidArgument);
  oci::DeviceCgroupRule bad_access = Rule(true, "c", std::nullopt, std::nullopt, "rwx");
  EXPECT_EQ(DeviceRuleLine(bad_access).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(Convert, UnifiedKeys) {
  EXPECT_TRUE(ValidateUnifiedKey("memory.max").ok());
  EXPECT_TRUE(ValidateUnifiedKey("memory.swap.max").ok());
  EXPECT_TRUE(ValidateUnifiedKey("hugetlb.2MB.max").ok());
  absl::Status st = ValidateUnifiedKey("../cgroup.procs");
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(st.message(), "linux.resources.unified: invalid key \"../cgroup.procs\"");
  for (const char* bad : {"", "memory", ".max", "memory.", "a/b.max", "memory..max", "cgroup.procs",
                          "memory.max\n"}) {
    EXPECT_EQ(ValidateUnifiedKey(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
  EXPECT_EQ(UnifiedKeyController("memory.swap.max"), "memory");
}

TEST(Convert, HugepageSizes) {
  EXPECT_TRUE(ValidateHugepageSize("2MB").ok());
  EXPECT_TRUE(ValidateHugepageSize("1GB").ok());
  for (const char* bad : {"", "MB", "2", "2mb", "2MB/../x", "../2MB"}) {
    EXPECT_EQ(ValidateHugepageSize(bad).code(), absl::StatusCode::kInvalidArgument) << bad;
  }
}

TEST(DeviceFilter, ProgramShape) {
  auto p = BuildDeviceProgram(
      {Rule(false, "", std::nullopt, std::nullopt, "rwm"), Rule(true, "c", 1, 3, "rw")});
  ASSERT_TRUE(p.ok()) << p.status();
  // 6 loads, the 1:3 block (type, access x3, major, minor, return, exit),
  // the deny-all block (return 0, exit); nothing after it is reachable.
  ASSERT_EQ(p->size(), 16u);
  EXPECT_EQ(p->back().code, BPF_JMP | BPF_EXIT);
  EXPECT_EQ((*p)[6].off, 7);   // a failed type check skips to the next block
  EXPECT_EQ((*p)[14].imm, 0);  // deny-all returns 0
  auto allow_default = BuildDeviceProgram({Rule(true, "c", 1, 3, "rwm")});
  ASSERT_TRUE(allow_default.ok());
  EXPECT_EQ(allow_default->size(), 6u + 5u + 2u);  // type, major, minor, return, exit
  EXPECT_EQ(allow_default->at(allow_default->size() - 2).imm, 1);
  EXPECT_EQ(BuildDeviceProgram({Rule(true, "x", 1, 1, "r")}).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(BuildDeviceProgram({Rule(true, "c", 1, 1, "rq")}).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace peapod::cgroups
