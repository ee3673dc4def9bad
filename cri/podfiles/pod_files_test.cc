// The pod files byte for byte, and every way hostile input is refused.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "cri/podfiles/pod_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace peapod::cri {
namespace {

using ::testing::HasSubstr;

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

class PodFilesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/peapod-podfiles-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
  }
  void TearDown() override { std::system(("rm -rf " + dir_).c_str()); }
  std::string dir_;
};

TEST_F(PodFilesTest, HostsWithTwoAliasesByteForByte) {
  auto aliases = ParseHostAliases(
      R"([{"ip":"10.1.2.3","hostnames":["foo.remote","bar.remote"]},
          {"ip":"fd00::1","hostnames":["v6.remote"]}])");
  ASSERT_TRUE(aliases.ok()) << aliases.status();
  PodFilesInput in;
  in.hostname = "web-0";
  in.pod_ip = "10.88.0.5";
  in.host_aliases = *aliases;
  in.dns = DnsConfig{{"10.96.0.10", "1.1.1.1"},
                     {"default.svc.cluster.local", "cluster.local."},
                     {"ndots:5", "edns0"}};
  ASSERT_TRUE(WritePodFiles(dir_, in).ok());
  EXPECT_EQ(Read(dir_ + "/hosts"),
            "127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::0\tip6-localnet\n"
            "fe00::0\tip6-mcastprefix\n"
            "fe00::1\tip6-allnodes\n"
            "fe00::2\tip6-allrouters\n"
            "10.88.0.5\tweb-0\n"
            "10.1.2.3\tfoo.remote bar.remote\n"
            "fd00::1\tv6.remote\n");
  EXPECT_EQ(Read(dir_ + "/resolv.conf"),
            "search default.svc.cluster.local cluster.local.\n"
            "nameserver 10.96.0.10\n"
            "nameserver 1.1.1.1\n"
            "options ndots:5 edns0\n");
  EXPECT_EQ(Read(dir_ + "/hostname"), "web-0\n");
  struct stat st;
  ASSERT_EQ(::stat((dir_ + "/hosts").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0644u);
  // Rewriting replaces, and removal removes.
  in.host_aliases.clear();
  ASSERT_TRUE(WritePodFiles(dir_, in).ok());
  EXPECT_THAT(Read(dir_ + "/hosts"), ::testing::EndsWith("10.88.0.5\tweb-0\n"));
  ASSERT_TRUE(RemovePodFiles(dir_).ok());
  EXPECT_NE(::access((dir_ + "/hosts").c_str(), F_OK), 0);
  EXPECT_NE(::access((dir_ + "/hostname").c_str(), F_OK), 0);
  EXPECT_TRUE(RemovePodFiles(dir_).ok());
}

TEST_F(PodFilesTest, NoIpNoAliasesAndHostResolver) {
  std::ofstream(dir_ + "/host-resolv") << "nameserver 192.0.2.1\nsearch example\n";
  PodFilesInput in;
  in.hostname = "solo";
  in.host_resolv_conf = dir_ + "/host-resolv";
  ASSERT_TRUE(WritePodFiles(dir_, in).ok());
  EXPECT_EQ(Read(dir_ + "/hosts"),
            "127.0.0.1\tlocalhost\n"
            "::1\tlocalhost ip6-localhost ip6-loopback\n"
            "fe00::0\tip6-localnet\n"
            "fe00::0\tip6-mcastprefix\n"
            "fe00::1\tip6-allnodes\n"
            "fe00::2\tip6-allrouters\n");
  EXPECT_EQ(Read(dir_ + "/resolv.conf"), "nameserver 192.0.2.1\nsearch example\n");
  // An empty DNSConfig also means the host's.
  in.dns = DnsConfig{};
  EXPECT_EQ(*ResolvConfContent(in), "nameserver 192.0.2.1\nsearch example\n");
  in.host_resolv_conf = dir_ + "/none";
  EXPECT_EQ(*ResolvConfContent(in), "");
}

TEST_F(PodFilesTest, HostileAliasesAreRejectedNamingTheEntry) {
  struct Case {
    std::string json;
    std::string want;
  } cases[] = {
      {R"([{"ip":"10.1.2.3","hostnames":["ok"]},{"ip":"10.0.0.1\n1.2.3.4","hostnames":["x"]}])",
       "entry 1 (ip \"10.0.0.1\\x0a1.2.3.4\"): ip \"10.0.0.1\\x0a1.2.3.4\" contains whitespace"},
      {R"([{"ip":"10.1.2.300","hostnames":["x"]}])", "is not an IP address"},
      {R"([{"ip":"","hostnames":["x"]}])", "is not an IP address"},
      {R"([{"ip":"10.1.2.3","hostnames":["a b"]}])", "hostname 0 \"a b\" contains whitespace"},
      {R"([{"ip":"10.1.2.3","hostnames":["ok","evil\nmalicious 1.2.3.4"]}])",
       "entry 0 (ip \"10.1.2.3\"): hostname 1"},
      {R"([{"ip":"10.1.2.3","hostnames":["x#comment"]}])", "contains '#'"},
      {R"([{"ip":"10.1.2.3","hostnames":["x\u0001"]}])", "contains a control character"},
      {R"([{"ip":"10.1.2.3","hostnames":["x\ty"]}])", "contains whitespace"},
      {R"([{"ip":"10.1.2.3","hostnames":["-bad.example"]}])", "starts or ends with '-'"},
      {R"([{"ip":"10.1.2.3","hostnames":["bad..example"]}])", "empty label"},
      {R"([{"ip":"10.1.2.3","hostnames":["under_score"]}])", "character '_' not allowed"},
      {R"([{"ip":"10.1.2.3","hostnames":[""]}])", "empty"},
      {R"([{"ip":"10.1.2.3","hostnames":[]}])", "entry 0 (ip \"10.1.2.3\"): no hostnames"},
      {R"([{"ip":"10.1.2.3"}])", "$[0].hostnames: required member missing"},
      {R"([{"ip":"10.1.2.3","hostnames":"x"}])", "$[0].hostnames"},
      {R"([{"ip":"10.1.2.3","hostnames":["x"],"extra":1}])", "unknown member \"extra\""},
      {R"({"ip":"10.1.2.3"})", "$"},
      {R"([{"ip":"10.1.2.3","hostnames":["x"]})", "annotation peapod.io/host-aliases"},
      {R"([{"ip":"10.1.2.3","hostnames":[")" + std::string(64, 'a') + R"("]}])", "longer than 63"},
  };
  for (const Case& c : cases) {
    auto r = ParseHostAliases(c.json);
    ASSERT_FALSE(r.ok()) << c.json;
    EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << c.json;
    EXPECT_THAT(r.status().message(), HasSubstr(c.want)) << c.json;
    EXPECT_THAT(r.status().message(), HasSubstr("peapod.io/host-aliases")) << c.json;
  }
  // Valid corner cases.
  EXPECT_TRUE(ParseHostAliases("[]").ok());
  EXPECT_TRUE(ParseHostAliases(R"([{"ip":"::1","hostnames":["A-1.b2.C3"]}])").ok());
}

TEST_F(PodFilesTest, NothingWrittenOnError) {
  PodFilesInput in;
  in.hostname = "web";
  in.pod_ip = "10.88.0.5";
  in.host_aliases = {{"10.1.2.3", {"fine"}}, {"10.1.2.4", {"not fine"}}};
  absl::Status st = WritePodFiles(dir_, in);
  EXPECT_TRUE(absl::IsInvalidArgument(st));
  EXPECT_THAT(st.message(), HasSubstr("host alias entry 1"));
  in.host_aliases.clear();
  in.dns = DnsConfig{{"8.8.8.8\nnameserver 6.6.6.6"}, {}, {}};
  st = WritePodFiles(dir_, in);
  EXPECT_THAT(st.message(), HasSubstr("DNS server"));
  in.dns = DnsConfig{{"8.8.8.8"}, {"a b"}, {}};
  EXPECT_THAT(WritePodFiles(dir_, in).message(), HasSubstr("DNS search domain"));
  in.dns = DnsConfig{{"8.8.8.8"}, {}, {"ndots:5\nnameserver"}};
  EXPECT_THAT(WritePodFiles(dir_, in).message(), HasSubstr("DNS option"));
  in.dns.reset();
  in.hostname = "bad host";
  EXPECT_THAT(WritePodFiles(dir_, in).message(), HasSubstr("pod hostname"));
  in.hostname = "web";
  in.pod_ip = "nope";
  EXPECT_THAT(WritePodFiles(dir_, in).message(), HasSubstr("pod IP"));
  for (const char* f : {"/hosts", "/resolv.conf", "/hostname"}) {
    EXPECT_NE(::access((dir_ + f).c_str(), F_OK), 0) << f;
  }
}

}  // namespace
}  // namespace peapod::cri
