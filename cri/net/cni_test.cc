// Config discovery, result parsing and the plugin protocol, with small
// shell-script plugins that record what they were given.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "cri/net/cni.h"
#include "cri/net/plugin_exec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/linux/file_util.h"

namespace peapod::cri {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/peapod-cni-unit-XXXXXX";
    path_ = ::mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf " + path_).c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

void WriteFile(const std::string& path, const std::string& text, mode_t mode = 0644) {
  std::ofstream(path) << text;
  ::chmod(path.c_str(), mode);
}

std::string Read(const std::string& path) {
  std::ifstream f(path);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

TEST(CniConfig, PicksFirstFileByName) {
  TempDir d;
  WriteFile(d.path() + "/20-b.conflist",
            R"({"cniVersion":"1.0.0","name":"b","plugins":[{"type":"bridge"}]})");
  WriteFile(d.path() + "/10-a.conf", R"({"cniVersion":"0.4.0","name":"a","type":"loopback"})");
  WriteFile(d.path() + "/05-ignored.txt", "not a config");
  auto n = CniNetwork::LoadDefault(d.path());
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_EQ(n->name(), "a");
  EXPECT_EQ(n->cni_version(), "0.4.0");
  EXPECT_THAT(n->PluginTypes(), ElementsAre("loopback"));
}

TEST(CniConfig, NoConfigIsNotFound) {
  TempDir d;
  auto n = CniNetwork::LoadDefault(d.path());
  EXPECT_TRUE(absl::IsNotFound(n.status())) << n.status();
  EXPECT_THAT(n.status().message(), HasSubstr(d.path()));
  n = CniNetwork::LoadDefault(d.path() + "/missing");
  EXPECT_TRUE(absl::IsNotFound(n.status())) << n.status();
}

TEST(CniConfig, BadConfigsNameTheProblem) {
  struct Case {
    const char* text;
    const char* want;
  } cases[] = {
      {R"({"name":"x","plugins":[{"type":"bridge"}]})", "$.cniVersion: required member missing"},
      {R"({"cniVersion":"2.0.0","name":"x","plugins":[{"type":"bridge"}]})",
       "unsupported cniVersion \"2.0.0\""},
      {R"({"cniVersion":"1.0.0","name":"x","plugins":[]})", "no plugins"},
      {R"({"cniVersion":"1.0.0","name":"x","plugins":[{"type":"../bin/sh"}]})",
       "invalid plugin type"},
      {R"({"cniVersion":"1.0.0","plugins":[{"type":"bridge"}]})", "$.name"},
      {R"({"cniVersion":"1.0.0","name":"x","plugins":[{"nottype":1}]})", "$.plugins[0].type"},
      {"{", "net.conflist"},
  };
  for (const Case& c : cases) {
    auto n = CniNetwork::FromConfList(c.text, "net.conflist");
    ASSERT_FALSE(n.ok()) << c.text;
    EXPECT_THAT(n.status().message(), HasSubstr(c.want)) << c.text;
    EXPECT_THAT(n.status().message(), HasSubstr("net.conflist"));
  }
}

TEST(CniResult, Parses040) {
  auto r = ParseCniResult(R"({"cniVersion":"0.4.0",
    "interfaces":[{"name":"cni0","mac":"aa:bb:cc:dd:ee:ff"},
                  {"name":"veth1","mac":"11:22:33:44:55:66"},
                  {"name":"eth0","mac":"66:55:44:33:22:11","sandbox":"/run/netns/x"}],
    "ips":[{"version":"4","interface":2,"address":"10.88.0.7/16","gateway":"10.88.0.1"},
           {"version":"6","interface":2,"address":"fd00::7/64"}],
    "routes":[{"dst":"0.0.0.0/0"}],"dns":{}})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cni_version, "0.4.0");
  ASSERT_EQ(r->interfaces.size(), 3u);
  EXPECT_EQ(r->interfaces[2].sandbox, "/run/netns/x");
  EXPECT_EQ(r->PrimaryIp(), "10.88.0.7");
  EXPECT_THAT(r->AllIps(), ElementsAre("10.88.0.7", "fd00::7"));
  EXPECT_EQ(r->ips[0].gateway, "10.88.0.1");
}

TEST(CniResult, Parses100AndPrefersSandboxInterface) {
  auto r = ParseCniResult(R"({"cniVersion":"1.0.0",
    "interfaces":[{"name":"br"},{"name":"eth0","sandbox":"/x"}],
    "ips":[{"interface":0,"address":"10.0.0.1/24"},{"interface":1,"address":"10.0.0.9/24"}]})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->PrimaryIp(), "10.0.0.9");
  EXPECT_THAT(r->AllIps(), ElementsAre("10.0.0.9", "10.0.0.1"));
}

TEST(CniResult, RejectsBadResults) {
  EXPECT_THAT(ParseCniResult(R"({"ips":[]})").status().message(), HasSubstr("cniVersion"));
  EXPECT_THAT(
      ParseCniResult(R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1"}]})").status().message(),
      HasSubstr("$.ips[0].address"));
  EXPECT_THAT(
      ParseCniResult(R"({"cniVersion":"1.0.0","ips":[{"address":"10.0.0.1/8","interface":3}]})")
          .status()
          .message(),
      HasSubstr("out of range"));
  EXPECT_THAT(ParseCniResult("[1").status().message(), HasSubstr("CNI result"));
}

// A fake plugin that records its env and stdin, then prints a result that
// lists every plugin run so far (from prevResult) as an interface.
const char kRecorder[] = R"(#!/bin/sh
in=$(cat)
n=$(ls "$REC_DIR" | grep -c stdin)
printf '%s' "$in" > "$REC_DIR/$n-$CNI_COMMAND-stdin"
env | grep '^CNI_' | sort > "$REC_DIR/$n-$CNI_COMMAND-env"
me=$(basename "$0")
if [ "$CNI_COMMAND" = ADD ]; then
  printf '{"cniVersion":"1.0.0","interfaces":[{"name":"%s","sandbox":"%s"}],"ips":[{"interface":0,"address":"10.9.0.%s/24"}]}' "$me" "$CNI_NETNS" "$n"
fi
)";

const char kFailer[] = R"(#!/bin/sh
cat >/dev/null
echo 'some log line' >&2
if [ "$CNI_COMMAND" = ADD ]; then
  printf '{"cniVersion":"1.0.0","code":11,"msg":"failed to frob","details":"the frobnicator is gone"}'
  exit 1
fi
)";

class CniChain : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(bin_.path() + "/rec-a", kRecorder, 0755);
    WriteFile(bin_.path() + "/rec-b", kRecorder, 0755);
    WriteFile(bin_.path() + "/fail", kFailer, 0755);
    WriteFile(bin_.path() + "/crash", "#!/bin/sh\necho boom >&2\nexit 3\n", 0755);
    ::setenv("REC_DIR", rec_.path().c_str(), 1);
    opts_.plugin_dirs = {bin_.path() + "/nonexistent", bin_.path()};
    opts_.cache_dir = cache_.path() + "/cache";
    att_.container_id = "pod123";
    att_.netns_path = "/proc/self/ns/net";
    att_.args = {{"K8S_POD_NAMESPACE", "default"}, {"K8S_POD_NAME", "web"}};
    att_.port_mappings = {{8080, 80, "tcp", ""}, {5353, 53, "udp", "127.0.0.1"}};
  }
  std::string Rec(const std::string& name) { return Read(rec_.path() + "/" + name); }
  // Network "testnet" (cniVersion 1.0.0) of two plugins, in this order.
  static CniNetwork Chain(const std::string& first, const std::string& second) {
    absl::StatusOr<CniNetwork> n =
        CniNetwork::FromConfList(R"({"cniVersion":"1.0.0","name":"testnet","plugins":[{"type":")" +
                                     first + R"("},{"type":")" + second + R"("}]})",
                                 "t");
    EXPECT_TRUE(n.ok()) << n.status();
    return *std::move(n);
  }

  TempDir bin_, rec_, cache_;
  CniOptions opts_;
  CniAttachment att_;
};

TEST_F(CniChain, AddPassesEnvNamePrevResultAndCapabilities) {
  auto n = CniNetwork::FromConfList(R"({"cniVersion":"1.0.0","name":"testnet","plugins":[
      {"type":"rec-a","bridge":"x"},
      {"type":"rec-b","capabilities":{"portMappings":true}}]})",
                                    "t");
  ASSERT_TRUE(n.ok()) << n.status();
  auto r = n->Add(opts_, att_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->interfaces[0].name, "rec-b");
  EXPECT_EQ(r->PrimaryIp(), "10.9.0.1");

  EXPECT_EQ(Rec("0-ADD-stdin"),
            R"({"type":"rec-a","bridge":"x","name":"testnet","cniVersion":"1.0.0"})");
  std::string env = Rec("1-ADD-env");
  EXPECT_THAT(env, HasSubstr("CNI_COMMAND=ADD\n"));
  EXPECT_THAT(env, HasSubstr("CNI_CONTAINERID=pod123\n"));
  EXPECT_THAT(env, HasSubstr("CNI_IFNAME=eth0\n"));
  EXPECT_THAT(env, HasSubstr("CNI_NETNS=/proc/self/ns/net\n"));
  EXPECT_THAT(env,
              HasSubstr("CNI_ARGS=IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=web\n"));
  EXPECT_THAT(env, HasSubstr("CNI_PATH=" + bin_.path() + "/nonexistent:" + bin_.path() + "\n"));
  auto second = json::Parse(Rec("1-ADD-stdin"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->Find("prevResult")->Find("interfaces")->as_array()[0].Find("name")->as_string(),
            "rec-a");
  EXPECT_EQ(json::Write(*second->Find("runtimeConfig")),
            R"({"portMappings":[{"hostPort":8080,"containerPort":80,"protocol":"tcp"},)"
            R"({"hostPort":5353,"containerPort":53,"protocol":"udp","hostIP":"127.0.0.1"}]})");
  // rec-a declared no capability: no runtimeConfig.
  EXPECT_EQ(json::Parse(Rec("0-ADD-stdin"))->Find("runtimeConfig"), nullptr);

  // CHECK and DEL get the cached result; DEL runs in reverse order.
  ASSERT_TRUE(n->Check(opts_, att_).ok());
  CniAttachment bare = att_;
  bare.port_mappings.clear();  // the cache remembers them
  ASSERT_TRUE(n->Del(opts_, bare).ok());
  EXPECT_THAT(Rec("3-CHECK-env"), HasSubstr("CNI_COMMAND=CHECK"));
  auto del_first = json::Parse(Rec("4-DEL-stdin"));
  ASSERT_TRUE(del_first.ok());
  EXPECT_EQ(del_first->Find("type")->as_string(), "rec-b");
  EXPECT_EQ(
      del_first->Find("prevResult")->Find("interfaces")->as_array()[0].Find("name")->as_string(),
      "rec-b");
  EXPECT_NE(del_first->Find("runtimeConfig"), nullptr);
  EXPECT_EQ(json::Parse(Rec("5-DEL-stdin"))->Find("type")->as_string(), "rec-a");
  // The cache is gone: a second DEL still works (no prevResult), CHECK cannot.
  ASSERT_TRUE(n->Del(opts_, att_).ok());
  EXPECT_EQ(json::Parse(Rec("6-DEL-stdin"))->Find("prevResult"), nullptr);
  EXPECT_TRUE(absl::IsFailedPrecondition(n->Check(opts_, att_)));
}

// Which leading plugins can be ADDed before the pod exists: reference
// plugins with host-local or static IPAM that declare no capability; the
// first other plugin ends the head.
TEST(CniWarmHead, IsTheLeadingPluginsThatReadNothingOfThePod) {
  auto head = [](const std::string& plugins) {
    absl::StatusOr<CniNetwork> n = CniNetwork::FromConfList(
        R"({"cniVersion":"1.0.0","name":"n","plugins":[)" + plugins + "]}", "t");
    EXPECT_TRUE(n.ok()) << n.status();
    return n.ok() ? n->WarmHeadLength() : 99;
  };
  const std::string bridge = R"({"type":"bridge","ipam":{"type":"host-local"}})";
  const std::string portmap = R"({"type":"portmap","capabilities":{"portMappings":true}})";
  EXPECT_EQ(head(bridge + "," + portmap), 1u);
  EXPECT_EQ(head(bridge), 1u);
  EXPECT_EQ(head(R"({"type":"ptp","ipam":{"type":"static"}},)" + bridge + "," + portmap), 2u);
  EXPECT_EQ(head(portmap + "," + bridge), 0u);
  EXPECT_EQ(head(R"({"type":"bridge"})"), 0u);                               // no IPAM
  EXPECT_EQ(head(R"({"type":"bridge","ipam":{"type":"dhcp"}})"), 0u);        // a daemon's
  EXPECT_EQ(head(R"({"type":"calico","ipam":{"type":"host-local"}})"), 0u);  // may read CNI_ARGS
  EXPECT_EQ(head(R"({"type":"bridge","ipam":{"type":"host-local"},)"
                 R"("capabilities":{"ips":true}})"),
            0u);  // the pod's addresses
  EXPECT_EQ(head(R"({"type":"bridge","ipam":{"type":"host-local"},"args":{"x":1}})"), 0u);
}

// AddHead runs the head for an attachment and caches its result; Add with
// that head runs only the rest, on the head's result, its first plugin
// started ahead as plugin 1; DEL then undoes the whole chain.
TEST_F(CniChain, AddGoesOnFromAHeadAddedAhead) {
  WriteFile(bin_.path() + "/bridge", kRecorder, 0755);
  auto n = CniNetwork::FromConfList(R"({"cniVersion":"1.0.0","name":"testnet","plugins":[
      {"type":"bridge","ipam":{"type":"host-local"}},
      {"type":"rec-b","capabilities":{"portMappings":true}}]})",
                                    "t");
  ASSERT_TRUE(n.ok()) << n.status();
  CniAttachment early = att_;
  early.args = {{"K8S_POD_INFRA_CONTAINER_ID", att_.container_id}};
  early.port_mappings.clear();
  absl::StatusOr<CniHead> head = n->AddHead(opts_, early);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(head->plugins, 1u);
  EXPECT_THAT(Rec("0-ADD-stdin"), HasSubstr(R"("type":"bridge")"));
  EXPECT_THAT(Rec("0-ADD-env"), HasSubstr("CNI_ARGS=IgnoreUnknown=1;K8S_POD_INFRA_CONTAINER_ID="));
  // Cached, so a DEL now would find it.
  auto cached = json::ParseFile(opts_.cache_dir + "/testnet-pod123-eth0.json", 1 << 20);
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_EQ(*cached->Find("result"), head->result);

  // A first plugin started as plugin 0 is not the one after the head.
  absl::StatusOr<CniAddStart> wrong = n->StartAdd(opts_, att_);
  ASSERT_TRUE(wrong.ok());
  EXPECT_TRUE(
      absl::IsFailedPrecondition(n->Add(opts_, att_, nullptr, *std::move(wrong), &*head).status()));

  absl::StatusOr<CniAddStart> started = n->StartAdd(opts_, att_, head->plugins);
  ASSERT_TRUE(started.ok());
  auto r = n->Add(opts_, att_, nullptr, *std::move(started), &*head);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->interfaces[0].name, "rec-b");
  auto second = json::Parse(Rec("1-ADD-stdin"));
  ASSERT_TRUE(second.ok());
  EXPECT_EQ(second->Find("type")->as_string(), "rec-b");
  EXPECT_EQ(*second->Find("prevResult"), head->result);
  EXPECT_NE(second->Find("runtimeConfig"), nullptr);  // the pod's port mappings
  EXPECT_THAT(Rec("1-ADD-env"), HasSubstr("K8S_POD_NAME=web"));
  EXPECT_FALSE(std::filesystem::exists(rec_.path() + "/2-ADD-stdin")) << "the head ran twice";
  ASSERT_TRUE(n->Del(opts_, att_).ok());
  EXPECT_EQ(json::Parse(Rec("2-DEL-stdin"))->Find("type")->as_string(), "rec-b");
  EXPECT_EQ(json::Parse(Rec("3-DEL-stdin"))->Find("type")->as_string(), "bridge");
}

// `ready` failing after a head was added: the head is undone too.
TEST_F(CniChain, ReadyFailingAfterAHeadUndoesIt) {
  WriteFile(bin_.path() + "/bridge", kRecorder, 0755);
  auto n = CniNetwork::FromConfList(R"({"cniVersion":"1.0.0","name":"testnet","plugins":[
      {"type":"bridge","ipam":{"type":"host-local"}},{"type":"rec-b"}]})",
                                    "t");
  ASSERT_TRUE(n.ok()) << n.status();
  absl::StatusOr<CniHead> head = n->AddHead(opts_, att_);
  ASSERT_TRUE(head.ok()) << head.status();
  auto r = n->Add(
      opts_, att_, [] { return absl::UnavailableError("record not durable"); }, {}, &*head);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_THAT(Rec("1-DEL-env"), HasSubstr("CNI_COMMAND=DEL"));
  EXPECT_THAT(Rec("2-DEL-env"), HasSubstr("CNI_COMMAND=DEL"));
  EXPECT_FALSE(std::filesystem::exists(rec_.path() + "/1-ADD-stdin")) << "rec-b acted";
  EXPECT_FALSE(std::filesystem::exists(opts_.cache_dir + "/testnet-pod123-eth0.json"));
  // No head to add: FailedPrecondition, nothing run.
  CniNetwork plain = Chain("rec-a", "rec-b");
  EXPECT_TRUE(absl::IsFailedPrecondition(plain.AddHead(opts_, att_).status()));
}

// The cache keeps the network config an ADD ran with, for its DEL: found
// by container id and interface whatever the network's name, and gone with
// the DEL.
TEST_F(CniChain, CachedAddKeepsItsNetworkConfig) {
  auto n = CniNetwork::FromConfList(R"({"cniVersion":"1.0.0","name":"testnet","disableCheck":true,
      "plugins":[{"type":"rec-a","bridge":"x"},{"type":"rec-b"}]})",
                                    "t");
  ASSERT_TRUE(n.ok()) << n.status();
  EXPECT_TRUE(absl::IsNotFound(CniNetwork::FromCachedAdd(opts_, "pod123").status()));
  ASSERT_TRUE(n->Add(opts_, att_).ok());
  absl::StatusOr<CniNetwork> cached = CniNetwork::FromCachedAdd(opts_, "pod123");
  ASSERT_TRUE(cached.ok()) << cached.status();
  EXPECT_TRUE(cached->SameAs(*n));
  EXPECT_THAT(cached->origin(), HasSubstr("testnet-pod123-eth0.json"));
  EXPECT_TRUE(absl::IsNotFound(CniNetwork::FromCachedAdd(opts_, "pod12").status()));
  EXPECT_TRUE(absl::IsNotFound(CniNetwork::FromCachedAdd(opts_, "pod123", "eth1").status()));
  ASSERT_TRUE(cached->Del(opts_, att_).ok());
  EXPECT_TRUE(absl::IsNotFound(CniNetwork::FromCachedAdd(opts_, "pod123").status()));
  CniOptions no_cache = opts_;
  no_cache.cache_dir.clear();
  EXPECT_TRUE(absl::IsNotFound(CniNetwork::FromCachedAdd(no_cache, "pod123").status()));
}

TEST_F(CniChain, PluginErrorCarriesItsMessageAndChainIsUndone) {
  CniNetwork n = Chain("rec-a", "fail");
  auto r = n.Add(opts_, att_);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("failed to frob: the frobnicator is gone (code 11)"));
  EXPECT_THAT(r.status().message(), HasSubstr("/fail (ADD)"));
  EXPECT_THAT(r.status().message(), HasSubstr("network \"testnet\""));
  // rec-a ran ADD, then DEL as part of the undo.
  EXPECT_THAT(Rec("1-DEL-env"), HasSubstr("CNI_COMMAND=DEL"));
}

// The first plugin is started before `ready` runs and gets its config only
// after it: when `ready` fails, no plugin has acted (the started one is
// killed before it reads anything) and its error is the ADD's.
TEST_F(CniChain, ReadyRunsBeforeAnyPluginActs) {
  CniNetwork n = Chain("rec-a", "rec-b");
  bool nothing_yet = false;
  auto r = n.Add(opts_, att_, [&] {
    nothing_yet = std::filesystem::is_empty(rec_.path());
    return absl::UnavailableError("record not durable");
  });
  EXPECT_TRUE(nothing_yet);
  EXPECT_TRUE(absl::IsUnavailable(r.status())) << r.status();
  EXPECT_TRUE(std::filesystem::is_empty(rec_.path())) << "a plugin acted";
  // With `ready` OK the chain runs as without it.
  int calls = 0;
  r = n.Add(opts_, att_, [&] {
    ++calls;
    return absl::OkStatus();
  });
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(r->interfaces[0].name, "rec-b");
}

// A plugin prints its result, then takes a while to exit (a Go runtime's
// teardown, here a sleep): the next plugin runs on that result at once, and
// the ADD succeeds only once the first one has exited 0.
TEST_F(CniChain, NextPluginRunsOnAResultWhileThePreviousExits) {
  WriteFile(bin_.path() + "/linger", R"(#!/bin/sh
cat >/dev/null
printf '{"cniVersion":"1.0.0","ips":[{"address":"10.9.9.9/24"}]}'
sleep 1
touch "$REC_DIR/linger-exited"
)",
            0755);
  WriteFile(bin_.path() + "/order", R"(#!/bin/sh
in=$(cat)
if [ -e "$REC_DIR/linger-exited" ]; then echo after > "$REC_DIR/order"; else echo before > "$REC_DIR/order"; fi
printf '%s' "$in" > "$REC_DIR/order-stdin"
printf '{"cniVersion":"1.0.0","ips":[{"address":"10.9.9.10/24"}]}'
)",
            0755);
  CniNetwork n = Chain("linger", "order");
  auto r = n.Add(opts_, att_);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->PrimaryIp(), "10.9.9.10");
  EXPECT_EQ(Rec("order"), "before\n") << "the second plugin waited for the first to exit";
  EXPECT_THAT(
      Rec("order-stdin"),
      HasSubstr(R"("prevResult":{"cniVersion":"1.0.0","ips":[{"address":"10.9.9.9/24"}]})"));
  EXPECT_TRUE(std::filesystem::exists(rec_.path() + "/linger-exited"))
      << "ADD returned before the first plugin's exit status was known";
}

// The same plugin, but it exits 1 after printing a result: the ADD fails
// with its error (the first in the chain), and DEL undoes both plugins.
TEST_F(CniChain, APluginFailingAfterItsResultFailsTheAdd) {
  WriteFile(bin_.path() + "/liar", R"(#!/bin/sh
cat >/dev/null
if [ "$CNI_COMMAND" = ADD ]; then
  printf '{"cniVersion":"1.0.0","ips":[{"address":"10.9.9.9/24"}]}'
  sleep 0.3
  echo 'changed my mind' >&2
  exit 1
fi
echo DEL > "$REC_DIR/liar-del"
)",
            0755);
  CniNetwork n = Chain("liar", "rec-b");
  auto r = n.Add(opts_, att_);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("/liar (ADD): exit status 1: changed my mind"));
  EXPECT_THAT(Rec("0-ADD-env"), HasSubstr("CNI_COMMAND=ADD"));  // rec-b ran on the result
  EXPECT_THAT(Rec("1-DEL-env"), HasSubstr("CNI_COMMAND=DEL"));  // and was undone
  EXPECT_EQ(Rec("liar-del"), "DEL\n");
}

// An error document on stdout is not a result: the next plugin never acts.
TEST_F(CniChain, AnErrorDocumentIsNotTakenForAResult) {
  CniNetwork n = Chain("fail", "rec-b");
  auto r = n.Add(opts_, att_);
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(r.status().message(), HasSubstr("failed to frob"));
  EXPECT_FALSE(std::filesystem::exists(rec_.path() + "/0-ADD-env")) << "rec-b ran ADD";
}

// The first plugin can be started ahead of the ADD (CniNetwork::StartAdd):
// the ADD of the same attachment uses it; another attachment's refuses it;
// dropped unused, it never acts.
TEST_F(CniChain, FirstPluginStartedAheadServesOnlyItsAttachment) {
  CniNetwork n = Chain("rec-a", "rec-b");
  {
    absl::StatusOr<CniAddStart> unused = n.StartAdd(opts_, att_);
    ASSERT_TRUE(unused.ok()) << unused.status();
  }
  CniAttachment other = att_;
  other.container_id = "pod456";
  absl::StatusOr<CniAddStart> started = n.StartAdd(opts_, att_);
  ASSERT_TRUE(started.ok()) << started.status();
  auto r = n.Add(opts_, other, nullptr, *std::move(started));
  EXPECT_TRUE(absl::IsFailedPrecondition(r.status())) << r.status();
  EXPECT_THAT(r.status().message(), HasSubstr("started for pod123"));
  EXPECT_TRUE(std::filesystem::is_empty(rec_.path())) << "a plugin acted";

  started = n.StartAdd(opts_, att_);
  ASSERT_TRUE(started.ok()) << started.status();
  r = n.Add(opts_, att_, nullptr, *std::move(started));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->interfaces[0].name, "rec-b");
  EXPECT_THAT(Rec("0-ADD-env"), HasSubstr("CNI_CONTAINERID=pod123\n"));
  EXPECT_THAT(Rec("1-ADD-env"), HasSubstr("CNI_CONTAINERID=pod123\n"));
}

TEST_F(CniChain, CrashWithoutJsonShowsStderrAndStatus) {
  auto n = CniNetwork::FromConf(R"({"cniVersion":"0.4.0","name":"c","type":"crash"})", "t");
  ASSERT_TRUE(n.ok());
  auto r = n->Add(opts_, att_);
  EXPECT_THAT(r.status().message(), HasSubstr("exit status 3: boom"));
}

TEST_F(CniChain, MissingPluginAndBadAttachment) {
  auto n = CniNetwork::FromConf(R"({"cniVersion":"1.0.0","name":"c","type":"nosuch"})", "t");
  ASSERT_TRUE(n.ok());
  auto r = n->Add(opts_, att_);
  EXPECT_THAT(r.status().message(), HasSubstr("CNI plugin \"nosuch\" not found in"));
  CniAttachment bad = att_;
  bad.container_id = "../x";
  EXPECT_TRUE(absl::IsInvalidArgument(n->Add(opts_, bad).status()));
  bad = att_;
  bad.port_mappings = {{0, 80, "tcp", ""}};
  EXPECT_THAT(n->Add(opts_, bad).status().message(), HasSubstr("ports must be 1-65535"));
  bad = att_;
  bad.port_mappings = {{80, 80, "icmp", ""}};
  EXPECT_THAT(n->Add(opts_, bad).status().message(), HasSubstr("unknown protocol \"icmp\""));
  bad = att_;
  bad.args = {{"K8S_POD_NAME", "a;b"}};
  EXPECT_THAT(n->Add(opts_, bad).status().message(), HasSubstr("CNI_ARGS"));
}

TEST_F(CniChain, TimeoutKillsPlugin) {
  WriteFile(bin_.path() + "/slow", "#!/bin/sh\nexec sleep 30\n", 0755);
  auto n = CniNetwork::FromConf(R"({"cniVersion":"1.0.0","name":"c","type":"slow"})", "t");
  ASSERT_TRUE(n.ok());
  opts_.plugin_timeout = std::chrono::milliseconds(300);
  auto r = n->Add(opts_, att_);
  EXPECT_TRUE(absl::IsDeadlineExceeded(r.status())) << r.status();
}

}  // namespace
}  // namespace peapod::cri
