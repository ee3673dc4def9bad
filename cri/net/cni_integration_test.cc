// CNI with Debian's real plugins (/usr/lib/cni). Everything happens inside
// network namespaces the test creates: a "node" namespace where the plugins
// run (so the bridge, veths and iptables rules are private to the test),
// and one pinned namespace per pod. The network is test-private too (its own
// bridge name, subnet and host-local data dir).
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <thread>

#include "cri/net/cni.h"
#include "cri/net/netns.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/linux/unique_fd.h"

namespace peapod::cri {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Sh(const std::string& cmd, int* status = nullptr) {
  std::string out;
  FILE* f = ::popen((cmd + " 2>&1").c_str(), "r");
  if (f == nullptr) return out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  int st = ::pclose(f);
  if (status) *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128;
  return out;
}

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (!d) return out;
  while (struct dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.insert(n);
  }
  ::closedir(d);
  return out;
}

std::string ConfList(const std::string& version, const std::string& data_dir) {
  return R"({"cniVersion":")" + version + R"(","name":"peapod-h4-test","plugins":[
    {"type":"bridge","bridge":"pph4test0","isGateway":true,"ipMasq":true,"hairpinMode":true,
     "ipam":{"type":"host-local","ranges":[[{"subnet":"10.89.0.0/24"}]],
             "routes":[{"dst":"0.0.0.0/0"}],"dataDir":")" +
         data_dir + R"("}},
    {"type":"portmap","capabilities":{"portMappings":true}},
    {"type":"loopback"}]})";
}

class CniReal : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::access("/usr/lib/cni/bridge", X_OK) != 0) GTEST_SKIP() << "no CNI plugins";
    char tmpl[] = "/run/peapod-h4-cni-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    root_ = tmpl;
    ns_dir_ = root_ + "/netns";
    ipam_dir_ = root_ + "/ipam";
    opts_.plugin_dirs = {"/usr/lib/cni", "/opt/cni/bin"};
    opts_.cache_dir = root_ + "/cache";
    auto node = PinnedNetns::Create(ns_dir_, "node");
    ASSERT_TRUE(node.ok()) << node.status();
    node_ = std::move(*node);
    auto n = CniNetwork::FromConfList(ConfList("1.0.0", ipam_dir_), "test.conflist");
    ASSERT_TRUE(n.ok()) << n.status();
    net_.emplace(std::move(*n));
  }
  void TearDown() override {
    pods_.clear();
    node_ = PinnedNetns();
    if (!root_.empty()) std::system(("rm -rf " + root_).c_str());
  }

  // A new pinned pod namespace.
  std::string NewPod(const std::string& id) {
    auto ns = PinnedNetns::Create(ns_dir_, id);
    EXPECT_TRUE(ns.ok()) << ns.status();
    if (!ns.ok()) return "";
    std::string p = ns->path();
    pods_.push_back(std::move(*ns));
    return p;
  }
  CniAttachment Att(const std::string& id, const std::string& netns) {
    CniAttachment a;
    a.container_id = id;
    a.netns_path = netns;
    a.args = {{"K8S_POD_NAMESPACE", "default"}, {"K8S_POD_NAME", id}};
    return a;
  }
  // ADD / DEL with the plugins running in the node namespace.
  absl::StatusOr<CniResult> Add(const CniNetwork& net, const CniAttachment& a) {
    absl::StatusOr<CniResult> r = absl::UnknownError("not run");
    absl::Status st = RunInNetns(node_.path(), [&] {
      r = net.Add(opts_, a);
      return absl::OkStatus();
    });
    if (!st.ok()) return st;
    return r;
  }
  absl::Status Del(const CniNetwork& net, const CniAttachment& a) {
    return RunInNetns(node_.path(), [&] { return net.Del(opts_, a); });
  }
  absl::Status Check(const CniNetwork& net, const CniAttachment& a) {
    return RunInNetns(node_.path(), [&] { return net.Check(opts_, a); });
  }
  std::string InNode(const std::string& cmd, int* status = nullptr) {
    return Sh("nsenter --net=" + node_.path() + " " + cmd, status);
  }
  // The node's iptables rules without counters and comment lines.
  std::string Rules() {
    std::string all = InNode("iptables-save");
    std::stringstream in(all);
    std::string line, out;
    while (std::getline(in, line)) {
      if (line.empty() || line[0] == '#') continue;
      line = std::regex_replace(line, std::regex(R"( \[\d+:\d+\])"), "");
      out += line + "\n";
    }
    return out;
  }
  std::set<std::string> Links() {
    std::set<std::string> out;
    std::stringstream in(InNode("ip -o link show"));
    std::string line;
    while (std::getline(in, line)) {
      std::smatch m;
      if (std::regex_search(line, m, std::regex(R"(^\d+: ([^:@]+))"))) out.insert(m[1]);
    }
    return out;
  }
  std::set<std::string> Leases() { return ListDir(ipam_dir_ + "/peapod-h4-test"); }

  std::string root_, ns_dir_, ipam_dir_;
  CniOptions opts_;
  PinnedNetns node_;
  std::vector<PinnedNetns> pods_;
  std::optional<CniNetwork> net_;
};

TEST_F(CniReal, TwoPodsReachEachOtherByIp) {
  std::string a_ns = NewPod("pod-a"), b_ns = NewPod("pod-b");
  auto a = Add(*net_, Att("pod-a", a_ns));
  ASSERT_TRUE(a.ok()) << a.status();
  auto b = Add(*net_, Att("pod-b", b_ns));
  ASSERT_TRUE(b.ok()) << b.status();
  EXPECT_EQ(a->cni_version, "1.0.0");
  std::string ip_a = a->PrimaryIp(), ip_b = b->PrimaryIp();
  EXPECT_THAT(ip_a, ::testing::StartsWith("10.89.0."));
  EXPECT_THAT(ip_b, ::testing::StartsWith("10.89.0."));
  EXPECT_NE(ip_a, ip_b);
  // The address is really on eth0 inside the pod, and lo is up.
  EXPECT_THAT(Sh("nsenter --net=" + a_ns + " ip -o addr show dev eth0"), HasSubstr(ip_a + "/24"));
  EXPECT_THAT(Sh("nsenter --net=" + a_ns + " ip -o link show lo"), HasSubstr("UP"));
  int st = -1;
  std::string out = Sh("nsenter --net=" + a_ns + " busybox ping -c 1 -W 3 " + ip_b, &st);
  EXPECT_EQ(st, 0) << out;
  out = Sh("nsenter --net=" + b_ns + " busybox ping -c 1 -W 3 " + ip_a, &st);
  EXPECT_EQ(st, 0) << out;
  EXPECT_TRUE(Check(*net_, Att("pod-a", a_ns)).ok());
  ASSERT_TRUE(Del(*net_, Att("pod-a", a_ns)).ok());
  ASSERT_TRUE(Del(*net_, Att("pod-b", b_ns)).ok());
  // Unreachable once detached.
  out = Sh("nsenter --net=" + a_ns + " busybox ping -c 1 -W 1 " + ip_b, &st);
  EXPECT_NE(st, 0) << out;
}

// A child process; killed and reaped on destruction.
class Child {
 public:
  explicit Child(std::vector<std::string> argv) {
    pid_ = ::fork();
    if (pid_ == 0) {
      std::vector<char*> av;
      for (auto& s : argv) av.push_back(s.data());
      av.push_back(nullptr);
      ::execvp(av[0], av.data());
      _exit(127);
    }
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
  }

 private:
  pid_t pid_ = -1;
};

// Connects to ip:port (in the calling thread's namespace), sends an HTTP GET
// and returns the reply, retrying while the server starts.
std::string HttpGet(const std::string& ip, int port) {
  for (int i = 0; i < 50; ++i) {
    linux::UniqueFd s(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_in sa{};
    sa.sin_family = AF_INET;
    sa.sin_port = htons(port);
    ::inet_pton(AF_INET, ip.c_str(), &sa.sin_addr);
    struct timeval tv = {2, 0};
    ::setsockopt(s.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    if (::connect(s.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0) {
      std::string req = "GET /index.html HTTP/1.0\r\n\r\n";
      (void)!::write(s.get(), req.data(), req.size());
      std::string out;
      char buf[4096];
      ssize_t n;
      while ((n = ::read(s.get(), buf, sizeof buf)) > 0) out.append(buf, n);
      return out;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "connect failed";
}

TEST_F(CniReal, HostPortForwardsToPod) {
  std::string ns = NewPod("pod-web");
  CniAttachment att = Att("pod-web", ns);
  att.port_mappings = {
      {18080, 80, "tcp", ""}, {18081, 80, "tcp", "10.89.0.1"}, {15353, 53, "udp", ""}};
  auto r = Add(*net_, att);
  ASSERT_TRUE(r.ok()) << r.status();
  std::string www = root_ + "/www";
  ::mkdir(www.c_str(), 0755);
  std::ofstream(www + "/index.html") << "hello from the pod\n";
  Child server({"nsenter", "--net=" + ns, "busybox", "httpd", "-f", "-p", "80", "-h", www});
  std::string reply, reply_hostip;
  ASSERT_TRUE(RunInNetns(node_.path(), [&] {
                reply = HttpGet("10.89.0.1", 18080);
                reply_hostip = HttpGet("10.89.0.1", 18081);
                return absl::OkStatus();
              }).ok());
  EXPECT_THAT(reply, HasSubstr("hello from the pod"));
  EXPECT_THAT(reply_hostip, HasSubstr("hello from the pod"));
  std::string rules = Rules();
  EXPECT_THAT(rules, HasSubstr("--dport 15353"));
  EXPECT_THAT(rules, ::testing::ContainsRegex("-d 10.89.0.1/32 .*--dport 18081"));
  ASSERT_TRUE(Del(*net_, att).ok());
  rules = Rules();
  EXPECT_THAT(rules, Not(HasSubstr("18080")));
  EXPECT_THAT(rules, Not(HasSubstr("15353")));
}

TEST_F(CniReal, DelReleasesIpEvenWithoutNetnsOrCache) {
  std::string ns = NewPod("pod-del");
  auto r = Add(*net_, Att("pod-del", ns));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(Leases().count(r->PrimaryIp()), 1u);
  ASSERT_TRUE(Del(*net_, Att("pod-del", ns)).ok());
  EXPECT_EQ(Leases().count(r->PrimaryIp()), 0u);
  // DEL again: nothing left, still fine.
  ASSERT_TRUE(Del(*net_, Att("pod-del", ns)).ok());

  // The pod's namespace and the cache gone (a half-built pod after a crash).
  std::string ns2 = NewPod("pod-gone");
  auto r2 = Add(*net_, Att("pod-gone", ns2));
  ASSERT_TRUE(r2.ok()) << r2.status();
  ASSERT_TRUE(RemovePinnedNetns(ns2).ok());
  std::system(("rm -rf " + opts_.cache_dir).c_str());
  ASSERT_TRUE(Del(*net_, Att("pod-gone", ns2)).ok());
  EXPECT_EQ(Leases().count(r2->PrimaryIp()), 0u);
}

TEST_F(CniReal, Version040Config) {
  auto n = CniNetwork::FromConfList(ConfList("0.4.0", ipam_dir_), "test040.conflist");
  ASSERT_TRUE(n.ok()) << n.status();
  std::string ns = NewPod("pod-040");
  auto r = Add(*n, Att("pod-040", ns));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cni_version, "0.4.0");
  EXPECT_THAT(r->PrimaryIp(), ::testing::StartsWith("10.89.0."));
  EXPECT_THAT(Sh("nsenter --net=" + ns + " ip -o addr show dev eth0"),
              HasSubstr(r->PrimaryIp() + "/24"));
  EXPECT_TRUE(Check(*n, Att("pod-040", ns)).ok());
  ASSERT_TRUE(Del(*n, Att("pod-040", ns)).ok());
  EXPECT_TRUE(Leases().count(r->PrimaryIp()) == 0);
}

TEST_F(CniReal, PluginErrorIsReported) {
  // An address outside the range: host-local refuses, with its message.
  auto n = CniNetwork::FromConfList(R"({"cniVersion":"1.0.0","name":"peapod-h4-bad","plugins":[
    {"type":"bridge","bridge":"pph4bad0","ipam":{"type":"host-local",
     "ranges":[[{"subnet":"10.90.0.0/24","rangeStart":"10.91.0.5"}]],"dataDir":")" +
                                        ipam_dir_ + R"("}}]})",
                                    "bad.conflist");
  ASSERT_TRUE(n.ok()) << n.status();
  std::string ns = NewPod("pod-bad");
  auto r = Add(*n, Att("pod-bad", ns));
  ASSERT_FALSE(r.ok());
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("RangeStart 10.91.0.5 not in network 10.90.0.0/24"));
  EXPECT_THAT(r.status().message(), HasSubstr("bridge (ADD)"));
}

// 300 pods attached and detached: no address, veth, iptables rule, netns
// or cache file is left behind.
TEST_F(CniReal, ThreeHundredCyclesLeakNothing) {
  // One warm-up cycle creates what stays by design (the bridge, portmap's
  // top-level chains).
  {
    std::string ns = NewPod("warm");
    CniAttachment a = Att("warm", ns);
    a.port_mappings = {{19000, 80, "tcp", ""}};
    ASSERT_TRUE(Add(*net_, a).ok());
    ASSERT_TRUE(Del(*net_, a).ok());
    pods_.clear();
  }
  std::string rules = Rules();
  std::set<std::string> links = Links(), leases = Leases(), nsfiles = ListDir(ns_dir_);
  auto start = std::chrono::steady_clock::now();
  std::set<std::string> seen_ips;
  for (int i = 0; i < 300; ++i) {
    std::string id = "cycle-" + std::to_string(i);
    auto ns = PinnedNetns::Create(ns_dir_, id);
    ASSERT_TRUE(ns.ok()) << ns.status();
    CniAttachment a = Att(id, ns->path());
    if (i % 10 == 0) a.port_mappings = {{static_cast<uint16_t>(20000 + i), 80, "tcp", ""}};
    auto r = Add(*net_, a);
    ASSERT_TRUE(r.ok()) << "cycle " << i << ": " << r.status();
    seen_ips.insert(r->PrimaryIp());
    ASSERT_TRUE(Del(*net_, a).ok()) << "cycle " << i;
    ASSERT_TRUE(ns->Remove().ok());
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("300 ADD/DEL cycles: %.1f s (%.1f ms per cycle), %zu distinct IPs\n", secs,
              secs * 1000 / 300, seen_ips.size());
  // A /24 has 253 usable addresses: 300 cycles only work if DEL releases.
  EXPECT_GT(seen_ips.size(), 250u);
  EXPECT_EQ(Rules(), rules);
  EXPECT_EQ(Links(), links);
  EXPECT_EQ(Leases(), leases);
  EXPECT_EQ(ListDir(ns_dir_), nsfiles);
  EXPECT_TRUE(ListDir(opts_.cache_dir).empty());
}

TEST(PinnedNetnsTest, CreateRemoveAndBadNames) {
  char tmpl[] = "/run/peapod-h4-ns-XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  std::string dir = tmpl;
  std::string self_ns = Sh("readlink /proc/self/ns/net");
  {
    auto ns = PinnedNetns::Create(dir + "/sub", "p1");
    ASSERT_TRUE(ns.ok()) << ns.status();
    std::string inside = Sh("nsenter --net=" + ns->path() + " readlink /proc/self/ns/net");
    EXPECT_THAT(inside, HasSubstr("net:["));
    EXPECT_NE(inside, self_ns);
    EXPECT_TRUE(absl::IsAlreadyExists(PinnedNetns::Create(dir + "/sub", "p1").status()));
    // Our own namespace is untouched.
    EXPECT_EQ(Sh("readlink /proc/self/ns/net"), self_ns);
  }
  // Destructor removed it.
  EXPECT_NE(::access((dir + "/sub/p1").c_str(), F_OK), 0);
  EXPECT_TRUE(absl::IsInvalidArgument(PinnedNetns::Create(dir, "../x").status()));
  EXPECT_TRUE(RemovePinnedNetns(dir + "/sub/nothing").ok());
  // Pinning a process's namespace: the same namespace, lo brought up on demand.
  {
    auto made = PinnedNetns::Create(dir, "orig");
    ASSERT_TRUE(made.ok()) << made.status();
    ASSERT_EQ(Sh("nsenter --net=" + made->path() + " ip link set lo down"), "");
    auto pinned = PinnedNetns::Pin(made->path(), dir, "copy");
    ASSERT_TRUE(pinned.ok()) << pinned.status();
    EXPECT_EQ(Sh("nsenter --net=" + pinned->path() + " readlink /proc/self/ns/net"),
              Sh("nsenter --net=" + made->path() + " readlink /proc/self/ns/net"));
    EXPECT_THAT(Sh("nsenter --net=" + made->path() + " ip -o link show lo"), HasSubstr("DOWN"));
    ASSERT_TRUE(BringLoopbackUp(pinned->path()).ok());
    EXPECT_THAT(Sh("nsenter --net=" + made->path() + " ip -o link show lo"),
                HasSubstr("LOOPBACK,UP"));
    EXPECT_FALSE(PinnedNetns::Pin(dir + "/none", dir, "bad").ok());
    EXPECT_NE(::access((dir + "/bad").c_str(), F_OK), 0);
  }
  EXPECT_FALSE(RunInNetns(dir + "/sub/nothing", [] { return absl::OkStatus(); }).ok());
  std::system(("rm -rf " + dir).c_str());
}

}  // namespace
}  // namespace peapod::cri
