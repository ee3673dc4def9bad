// Parsing the lifecycle annotation, exec hooks through a fake callback, and
// httpGet hooks against real servers listening only inside a network
// namespace the test creates.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <mutex>
#include <thread>

#include "cri/lifecycle/lifecycle.h"
#include "cri/net/netns.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "oci/linux/unique_fd.h"

namespace peapod::cri {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using Clock = std::chrono::steady_clock;

TEST(ParseLifecycleTest, ExecAndHttpGet) {
  auto l = ParseLifecycle(R"({
    "postStart":{"exec":{"command":["sh","-c","echo hi > /started"]}},
    "preStop":{"httpGet":{"host":"10.0.0.1","port":8080,"path":"shutdown","scheme":"HTTPS",
               "httpHeaders":[{"name":"X-Reason","value":"stop now"}]}}})");
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_TRUE(l->post_start && l->post_start->exec);
  EXPECT_THAT(l->post_start->exec->command, ElementsAre("sh", "-c", "echo hi > /started"));
  ASSERT_TRUE(l->pre_stop && l->pre_stop->http_get);
  const HttpGetAction& g = *l->pre_stop->http_get;
  EXPECT_EQ(g.host, "10.0.0.1");
  EXPECT_EQ(g.port, 8080);
  EXPECT_EQ(g.path, "/shutdown");
  EXPECT_EQ(g.scheme, "HTTPS");
  ASSERT_EQ(g.headers.size(), 1u);
  EXPECT_EQ(g.headers[0].value, "stop now");
  EXPECT_EQ(l->pre_stop->Describe(), "httpGet HTTPS://10.0.0.1:8080/shutdown");
  auto only = ParseLifecycle(R"({"preStop":{"httpGet":{"port":80}}})");
  ASSERT_TRUE(only.ok());
  EXPECT_FALSE(only->post_start);
  EXPECT_EQ(only->pre_stop->http_get->path, "/");
  EXPECT_EQ(only->pre_stop->http_get->scheme, "HTTP");
}

TEST(ParseLifecycleTest, BadInputNamesTheMember) {
  struct Case {
    const char* json;
    const char* want;
  } cases[] = {
      {R"({"postStart":{}})", "$.postStart: a handler needs exactly one of exec, httpGet"},
      {R"({"postStart":{"exec":{"command":["x"]},"httpGet":{"port":1}}})", "exactly one"},
      {R"({"postStart":{"exec":{"command":[]}}})", "$.postStart.exec.command: command is empty"},
      {R"({"postStart":{"exec":{"command":"ls"}}})", "$.postStart.exec.command"},
      {R"({"preStop":{"httpGet":{"port":"http"}}})", "named ports are not supported"},
      {R"({"preStop":{"httpGet":{"port":0}}})", "port must be 1-65535"},
      {R"({"preStop":{"httpGet":{"port":70000}}})", "$.preStop.httpGet.port"},
      {R"({"preStop":{"httpGet":{}}})", "$.preStop.httpGet.port: required member missing"},
      {R"({"preStop":{"httpGet":{"port":80,"scheme":"FTP"}}})", "scheme \"FTP\""},
      {R"({"preStop":{"httpGet":{"port":80,"path":"/a b"}}})", "path contains whitespace"},
      {R"({"preStop":{"httpGet":{"port":80,"host":"a/b"}}})", "invalid host"},
      {R"({"preStop":{"httpGet":{"port":80,"httpHeaders":[{"name":"X Y","value":"v"}]}}})",
       "invalid header name"},
      {R"({"preStop":{"httpGet":{"port":80,"httpHeaders":[{"name":"X","value":"a\r\nEvil: 1"}]}}})",
       "control characters"},
      {R"({"preStart":{}})", "unknown member \"preStart\""},
      {R"({"postStart":{"tcpSocket":{"port":1}}})", "unknown member \"tcpSocket\""},
      {"[", "annotation peapod.io/lifecycle"},
  };
  for (const Case& c : cases) {
    auto l = ParseLifecycle(c.json);
    ASSERT_FALSE(l.ok()) << c.json;
    EXPECT_TRUE(absl::IsInvalidArgument(l.status())) << c.json;
    EXPECT_THAT(l.status().message(), HasSubstr(c.want)) << c.json;
    EXPECT_THAT(l.status().message(), HasSubstr("peapod.io/lifecycle")) << c.json;
  }
}

HookContext Ctx(std::chrono::milliseconds budget = std::chrono::milliseconds(5000)) {
  HookContext c;
  c.deadline = Clock::now() + budget;
  return c;
}

TEST(RunLifecycleHookTest, ExecThroughCallback) {
  LifecycleHandler h;
  h.exec = ExecAction{{"sh", "-c", "exit 3"}};
  std::vector<std::string> ran;
  HookContext ctx = Ctx();
  ctx.exec = [&](const std::vector<std::string>& cmd,
                 std::chrono::milliseconds timeout) -> absl::StatusOr<ExecHookResult> {
    ran = cmd;
    EXPECT_GT(timeout.count(), 4000);
    return ExecHookResult{3, "boom\n"};
  };
  absl::Status st = RunLifecycleHook("PostStart", h, ctx);
  EXPECT_EQ(st.message(), "PostStart hook (exec [sh -c exit 3]) failed: exit code 3: boom");
  EXPECT_THAT(ran, ElementsAre("sh", "-c", "exit 3"));
  ctx.exec = [](const std::vector<std::string>&,
                std::chrono::milliseconds) -> absl::StatusOr<ExecHookResult> {
    return ExecHookResult{0, "fine"};
  };
  EXPECT_TRUE(RunLifecycleHook("PostStart", h, ctx).ok());
  ctx.exec = [](const std::vector<std::string>&,
                std::chrono::milliseconds) -> absl::StatusOr<ExecHookResult> {
    return absl::DeadlineExceededError("exec timed out");
  };
  st = RunLifecycleHook("PreStop", h, ctx);
  EXPECT_TRUE(absl::IsDeadlineExceeded(st));
  EXPECT_THAT(st.message(), HasSubstr("PreStop hook (exec [sh -c exit 3]) failed: exec timed out"));
  ctx.deadline = Clock::now() - std::chrono::seconds(1);
  EXPECT_TRUE(absl::IsDeadlineExceeded(RunLifecycleHook("PreStop", h, ctx)));
}

// An HTTP server whose socket lives in a network namespace; it answers each
// request with `status` after `delay`, and keeps what it received.
class NsHttpServer {
 public:
  NsHttpServer(const std::string& netns, uint16_t port, int status, std::string body,
               std::chrono::milliseconds delay = std::chrono::milliseconds(0))
      : status_(status), body_(std::move(body)), delay_(delay) {
    absl::Status st = RunInNetns(netns, [&] {
      fd_.Reset(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
      sockaddr_in sa{};
      sa.sin_family = AF_INET;
      sa.sin_port = htons(port);
      sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
      int one = 1;
      ::setsockopt(fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
      if (::bind(fd_.get(), reinterpret_cast<sockaddr*>(&sa), sizeof sa) != 0 ||
          ::listen(fd_.get(), 8) != 0) {
        return absl::InternalError("bind/listen");
      }
      return absl::OkStatus();
    });
    EXPECT_TRUE(st.ok()) << st;
    thread_ = std::thread([this] { Serve(); });
  }
  ~NsHttpServer() {
    ::shutdown(fd_.get(), SHUT_RDWR);
    thread_.join();
  }
  std::string request() {
    std::lock_guard<std::mutex> l(mu_);
    return request_;
  }

 private:
  void Serve() {
    while (true) {
      linux::UniqueFd c(::accept4(fd_.get(), nullptr, nullptr, SOCK_CLOEXEC));
      if (!c) return;
      std::string req;
      char buf[4096];
      while (req.find("\r\n\r\n") == std::string::npos) {
        ssize_t n = ::read(c.get(), buf, sizeof buf);
        if (n <= 0) break;
        req.append(buf, n);
      }
      {
        std::lock_guard<std::mutex> l(mu_);
        request_ = req;
      }
      std::this_thread::sleep_for(delay_);
      std::string resp = "HTTP/1.1 " + std::to_string(status_) +
                         " X\r\nContent-Length: " + std::to_string(body_.size()) + "\r\n\r\n" +
                         body_;
      (void)!::write(c.get(), resp.data(), resp.size());
    }
  }
  int status_;
  std::string body_;
  std::chrono::milliseconds delay_;
  linux::UniqueFd fd_;
  std::thread thread_;
  std::mutex mu_;
  std::string request_;
};

class HttpHookTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/run/peapod-h4-hook-XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    auto ns = PinnedNetns::Create(dir_, "pod");
    ASSERT_TRUE(ns.ok()) << ns.status();
    ns_ = std::move(*ns);
  }
  void TearDown() override {
    ns_ = PinnedNetns();
    std::system(("rm -rf " + dir_).c_str());
  }
  HookContext Ctx(std::chrono::milliseconds budget = std::chrono::milliseconds(5000)) {
    HookContext c = peapod::cri::Ctx(budget);
    c.netns_path = ns_.path();
    c.pod_ip = "127.0.0.1";  // a loopback-only pod
    return c;
  }
  std::string dir_;
  PinnedNetns ns_;
};

TEST_F(HttpHookTest, GetInsidePodNamespaceWithHeaders) {
  NsHttpServer server(ns_.path(), 39411, 200, "ok");
  auto l = ParseLifecycle(R"({"postStart":{"httpGet":{"port":39411,"path":"/started?x=1",
      "httpHeaders":[{"name":"X-Peapod","value":"hello"}]}}})");
  ASSERT_TRUE(l.ok()) << l.status();
  absl::Status st = RunLifecycleHook("PostStart", *l->post_start, Ctx());
  ASSERT_TRUE(st.ok()) << st;
  std::string req = server.request();
  EXPECT_THAT(req, ::testing::StartsWith("GET /started?x=1 HTTP/1.1\r\n"));
  EXPECT_THAT(req, HasSubstr("\r\nHost: 127.0.0.1:39411\r\n"));
  EXPECT_THAT(req, HasSubstr("\r\nX-Peapod: hello\r\n"));
  // The server is not reachable from the test's own namespace: the hook
  // really ran inside the pod's.
  HttpGetAction a = *l->post_start->http_get;
  absl::Status outside = HttpGetOnce(a, "127.0.0.1", Clock::now() + std::chrono::seconds(2));
  EXPECT_FALSE(outside.ok());
}

TEST_F(HttpHookTest, ErrorStatusNamesHookAndBody) {
  NsHttpServer server(ns_.path(), 39412, 503, "not ready yet");
  LifecycleHandler h;
  h.http_get = HttpGetAction{"", 39412, "/health", "HTTP", {}};
  absl::Status st = RunLifecycleHook("PreStop", h, Ctx());
  EXPECT_EQ(st.message(),
            "PreStop hook (httpGet HTTP://127.0.0.1:39412/health) failed: HTTP/1.1 503 X: "
            "not ready yet");
}

TEST_F(HttpHookTest, RefusedAndTimeout) {
  LifecycleHandler h;
  h.http_get = HttpGetAction{"", 39413, "/", "HTTP", {}};
  absl::Status st = RunLifecycleHook("PostStart", h, Ctx());
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(st.message(), HasSubstr("PostStart hook (httpGet HTTP://127.0.0.1:39413/) failed"));
  EXPECT_THAT(st.message(), HasSubstr("Connection refused"));

  NsHttpServer slow(ns_.path(), 39414, 200, "late", std::chrono::milliseconds(1500));
  h.http_get->port = 39414;
  auto start = Clock::now();
  st = RunLifecycleHook("PostStart", h, Ctx(std::chrono::milliseconds(300)));
  EXPECT_TRUE(absl::IsDeadlineExceeded(st)) << st;
  EXPECT_LT(Clock::now() - start, std::chrono::milliseconds(1200));
}

TEST_F(HttpHookTest, Https) {
  if (::access("/usr/bin/openssl", X_OK) != 0) GTEST_SKIP() << "no openssl";
  std::string key = dir_ + "/k.pem", cert = dir_ + "/c.pem";
  ASSERT_EQ(std::system(("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                         "-nodes -subj /CN=peapod-test -days 1 -keyout " +
                         key + " -out " + cert + " >/dev/null 2>&1")
                            .c_str()),
            0);
  pid_t pid = ::fork();
  if (pid == 0) {
    int devnull = ::open("/dev/null", O_RDWR);
    ::dup2(devnull, 0);
    ::dup2(devnull, 1);
    ::dup2(devnull, 2);
    ::execlp("nsenter", "nsenter", ("--net=" + ns_.path()).c_str(), "openssl", "s_server",
             "-accept", "127.0.0.1:39415", "-cert", cert.c_str(), "-key", key.c_str(), "-www",
             static_cast<char*>(nullptr));
    _exit(127);
  }
  LifecycleHandler h;
  h.http_get = HttpGetAction{"", 39415, "/", "HTTPS", {}};
  absl::Status st;
  for (int i = 0; i < 50; ++i) {  // until s_server listens
    st = RunLifecycleHook("PostStart", h, Ctx());
    if (st.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(st.ok()) << st;
  // Plain HTTP to a TLS server is not an HTTP response.
  h.http_get->scheme = "HTTP";
  EXPECT_FALSE(RunLifecycleHook("PostStart", h, Ctx()).ok());
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}

}  // namespace
}  // namespace peapod::cri
