#include <unistd.h>

#include <cstdlib>
#include <fstream>

#include "cri/config/config.h"
#include "gtest/gtest.h"

namespace peapod::cri {
namespace {

TEST(ConfigTest, EmptyTextGivesDefaults) {
  absl::StatusOr<Config> c = ParseConfig("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->socket_path, "/run/peapod/peapod.sock");
  EXPECT_EQ(c->root, "/var/lib/peapod");
  EXPECT_EQ(c->state_dir, "/run/peapod");
  EXPECT_EQ(c->cni_plugin_dirs, (std::vector<std::string>{"/usr/lib/cni", "/opt/cni/bin"}));
  EXPECT_EQ(c->cni_conf_dir, "/etc/cni/net.d");
  EXPECT_EQ(c->log_level, LogLevel::kInfo);
  EXPECT_TRUE(c->registry_toml.empty());
}

TEST(ConfigTest, ReadsEveryKey) {
  absl::StatusOr<Config> c = ParseConfig(R"(
socket = "/tmp/p/p.sock"
root = "/srv/peapod"
state_dir = "/tmp/p"
log_level = "debug"
shim_binary = "/opt/shim"
infra_binary = "/opt/infra"
[cni]
plugin_dirs = ["/a", "/b", "/c"]
conf_dir = "/etc/net"
warm = false
[registry]
insecure = ["127.0.0.1:5000"]
)");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->socket_path, "/tmp/p/p.sock");
  EXPECT_EQ(c->root, "/srv/peapod");
  EXPECT_EQ(c->state_dir, "/tmp/p");
  EXPECT_EQ(c->log_level, LogLevel::kDebug);
  EXPECT_EQ(c->shim_binary, "/opt/shim");
  EXPECT_EQ(c->infra_binary, "/opt/infra");
  EXPECT_EQ(c->cni_plugin_dirs, (std::vector<std::string>{"/a", "/b", "/c"}));
  EXPECT_EQ(c->cni_conf_dir, "/etc/net");
  EXPECT_FALSE(c->cni_warm);
  EXPECT_NE(c->registry_toml.find("127.0.0.1:5000"), std::string::npos) << c->registry_toml;
}

TEST(ConfigTest, CniWarmIsOnByDefaultAndMustBeABool) {
  absl::StatusOr<Config> c = ParseConfig("");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_TRUE(c->cni_warm);
  c = ParseConfig("[cni]\nwarm = \"no\"\n", "peapod.toml");
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("cni.warm: expected true or false"), std::string::npos)
      << c.status();
}

TEST(ConfigTest, PluginDirsAcceptColonList) {
  absl::StatusOr<Config> c = ParseConfig("[cni]\nplugin_dirs = \"/x:/y\"\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->cni_plugin_dirs, (std::vector<std::string>{"/x", "/y"}));
}

TEST(ConfigTest, UnknownKeyIsNamed) {
  absl::StatusOr<Config> c = ParseConfig("sockett = \"/x\"\n", "peapod.toml");
  ASSERT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(c.status().message().find("peapod.toml: sockett: unknown key"), std::string::npos)
      << c.status();
  c = ParseConfig("[cni]\nconfdir = \"/x\"\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("cni.confdir"), std::string::npos) << c.status();
}

TEST(ConfigTest, WrongTypesAndValuesAreErrors) {
  EXPECT_FALSE(ParseConfig("root = 3\n").ok());
  EXPECT_FALSE(ParseConfig("root = \"relative/dir\"\n").ok());
  EXPECT_FALSE(ParseConfig("log_level = \"loud\"\n").ok());
  EXPECT_FALSE(ParseConfig("cni = 1\n").ok());
  EXPECT_FALSE(ParseConfig("[cni]\nplugin_dirs = [1]\n").ok());
  absl::StatusOr<Config> c = ParseConfig("root = [\n");
  ASSERT_FALSE(c.ok());
  EXPECT_NE(c.status().message().find("config:1:"), std::string::npos) << c.status();
}

TEST(ConfigTest, ShimSparesIsABoundedInteger) {
  EXPECT_EQ(ParseConfig("")->shim_spares, 1);
  EXPECT_EQ(ParseConfig("shim_spares = 0\n")->shim_spares, 0);
  EXPECT_EQ(ParseConfig("shim_spares = 16\n")->shim_spares, 16);
  for (const char* bad : {"shim_spares = -1\n", "shim_spares = 17\n", "shim_spares = \"2\"\n",
                          "shim_spares = 1.5\n"}) {
    absl::StatusOr<Config> c = ParseConfig(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("shim_spares"), std::string::npos) << c.status();
  }
}

TEST(ConfigTest, StreamingServerAddressAndPort) {
  absl::StatusOr<Config> c = ParseConfig("");
  EXPECT_EQ(c->stream_address, "127.0.0.1");
  EXPECT_EQ(c->stream_port, 0);
  c = ParseConfig("stream_address = \"::1\"\nstream_port = 10010\n");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->stream_address, "::1");
  EXPECT_EQ(c->stream_port, 10010);
  for (const char* bad :
       {"stream_port = -1\n", "stream_port = 65536\n", "stream_address = \"localhost\"\n",
        "stream_address = \"\"\n", "stream_address = \"1.2.3.4 \"\n"}) {
    c = ParseConfig(bad);
    ASSERT_FALSE(c.ok()) << bad;
    EXPECT_NE(c.status().message().find("stream_"), std::string::npos) << c.status();
  }
}

TEST(ConfigTest, LoadFileAndMissingFile) {
  char dir[] = "/tmp/peapod-config-test-XXXXXX";
  ASSERT_NE(mkdtemp(dir), nullptr);
  std::string path = std::string(dir) + "/peapod.toml";
  std::ofstream(path) << "log_level = \"error\"\n";
  absl::StatusOr<Config> c = LoadConfig(path);
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->log_level, LogLevel::kError);
  unlink(path.c_str());
  EXPECT_EQ(LoadConfig(path).status().code(), absl::StatusCode::kNotFound);
  c = LoadConfig(path, /*optional=*/true);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->log_level, LogLevel::kInfo);
  rmdir(dir);
}

TEST(ConfigTest, LogLevelNamesRoundTrip) {
  for (LogLevel l : {LogLevel::kDebug, LogLevel::kInfo, LogLevel::kWarn, LogLevel::kError}) {
    absl::StatusOr<LogLevel> back = ParseLogLevel(LogLevelName(l));
    ASSERT_TRUE(back.ok());
    EXPECT_EQ(*back, l);
  }
}

}  // namespace
}  // namespace peapod::cri
