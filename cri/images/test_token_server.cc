#include "cri/images/test_token_server.h"

#include <netinet/in.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <ctime>
#include <stdexcept>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "cri/images/test_openssl.h"

namespace peapod::images::testing {
namespace {

void Check(bool ok, const char* what) { OpenSslCheck(ok, "token server", what); }

std::string B64Url(absl::string_view s) { return absl::WebSafeBase64Escape(s); }

// "%2F" → "/", "+" → " ".
std::string UrlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i] == '+' ? ' ' : s[i]);
    }
  }
  return out;
}

// "repository:<name>:<actions>" → name, or "" for another kind of scope.
std::string ScopeRepository(const std::string& scope) {
  if (scope.rfind("repository:", 0) != 0) return "";
  size_t last = scope.rfind(':');
  if (last <= 11) return "";
  return scope.substr(11, last - 11);
}

bool WantsPull(const std::string& scope) {
  std::string actions = scope.substr(scope.rfind(':') + 1);
  for (absl::string_view a : absl::StrSplit(actions, ',')) {
    if (a == "pull") return true;
  }
  return false;
}

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n <= 0) return;
    data.remove_prefix(n);
  }
}

}  // namespace

TestTokenServer::TestTokenServer(Options options) : options_(std::move(options)) {
  // 1. The signing key and its self-signed certificate.
  key_.reset(EVP_EC_gen("P-256"), EVP_PKEY_free);
  Check(key_ != nullptr, "EC key generation");
  X509Ptr cert(X509_new());
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("peapod test token signer"), -1,
                             -1, 0);
  X509_set_issuer_name(cert.get(), name);
  X509_set_pubkey(cert.get(), key_.get());
  Check(X509_sign(cert.get(), key_.get(), EVP_sha256()) > 0, "X509_sign");
  unsigned char* der = nullptr;
  int der_len = i2d_X509(cert.get(), &der);
  Check(der_len > 0, "i2d_X509");
  cert_der_.assign(reinterpret_cast<char*>(der), der_len);
  OPENSSL_free(der);
  FILE* f = fopen(cert_path().c_str(), "w");
  Check(f != nullptr, "open certificate file");
  bool written = PEM_write_X509(f, cert.get()) == 1;
  fclose(f);
  Check(written, "PEM_write_X509");

  // 2. The HTTP endpoint.
  listen_fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  Check(listen_fd_ >= 0 && bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
            listen(listen_fd_, 16) == 0 &&
            getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len) == 0,
        "listen on 127.0.0.1");
  realm_ = absl::StrCat("http://127.0.0.1:", ntohs(a.sin_port), "/token");
  stop_fd_ = eventfd(0, EFD_CLOEXEC);
  Check(stop_fd_ >= 0, "eventfd");
  thread_ = std::thread([this] { Serve(); });
}

TestTokenServer::~TestTokenServer() {
  uint64_t one = 1;
  (void)!write(stop_fd_, &one, sizeof one);
  thread_.join();
  close(stop_fd_);
  close(listen_fd_);
}

std::vector<std::string> TestTokenServer::requests() const {
  std::lock_guard<std::mutex> l(mu_);
  return requests_;
}

void TestTokenServer::Serve() {
  for (;;) {
    pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents != 0) return;
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) continue;
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    Answer(fd);
    close(fd);
  }
}

// One request per connection: "GET /token?<query> HTTP/1.1".
void TestTokenServer::Answer(int fd) {
  std::string req;
  char buf[4096];
  while (req.find("\r\n\r\n") == std::string::npos && req.size() < 65536) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return;
    req.append(buf, n);
  }
  std::string line = req.substr(0, req.find("\r\n"));
  std::vector<std::string> words = absl::StrSplit(line, ' ');
  std::string target = words.size() == 3 ? words[1] : "";
  std::string path = target.substr(0, target.find('?'));
  std::string query =
      target.find('?') == std::string::npos ? "" : target.substr(target.find('?') + 1);
  {
    std::lock_guard<std::mutex> l(mu_);
    requests_.push_back(query);
  }
  std::string service;
  std::vector<std::string> scopes;
  for (absl::string_view kv : absl::StrSplit(query, '&', absl::SkipEmpty())) {
    std::pair<std::string, std::string> p = absl::StrSplit(kv, absl::MaxSplits('=', 1));
    if (p.first == "service") service = UrlDecode(p.second);
    if (p.first == "scope") {
      for (absl::string_view s : absl::StrSplit(UrlDecode(p.second), ' ', absl::SkipEmpty())) {
        scopes.emplace_back(s);
      }
    }
  }
  int code = 200;
  std::string body;
  if (words.size() != 3 || words[0] != "GET" || path != "/token") {
    code = 404;
    body = "{\"details\":\"not found\"}";
  } else if (service != options_.service) {
    code = 400;
    body = "{\"details\":\"unknown service\"}";
  } else {
    for (const std::string& s : scopes) {
      if (options_.forbidden.count(ScopeRepository(s))) code = 403;
    }
    std::string token = Token(scopes);
    body = code == 403 ? "{\"details\":\"access to this repository is forbidden\"}"
                       : absl::StrCat("{\"token\":\"", token, "\",\"access_token\":\"", token,
                                      "\",\"expires_in\":300}");
  }
  const char* reason = code == 200 ? "OK" : code == 403 ? "Forbidden" : "Error";
  WriteAll(fd, absl::StrCat("HTTP/1.1 ", code, " ", reason,
                            "\r\nContent-Type: application/json\r\nContent-Length: ", body.size(),
                            "\r\nConnection: close\r\n\r\n", body));
}

// An ES256 JWT whose access grants pull on the pullable repositories asked for.
std::string TestTokenServer::Token(const std::vector<std::string>& scopes) const {
  std::vector<std::string> access;
  for (const std::string& s : scopes) {
    std::string repo = ScopeRepository(s);
    if (repo.empty() || !options_.pullable.count(repo) || !WantsPull(s)) continue;
    access.push_back(
        absl::StrCat("{\"type\":\"repository\",\"name\":\"", repo, "\",\"actions\":[\"pull\"]}"));
  }
  std::string x5c;
  absl::Base64Escape(cert_der_, &x5c);
  std::string header = absl::StrCat("{\"typ\":\"JWT\",\"alg\":\"ES256\",\"x5c\":[\"", x5c, "\"]}");
  int64_t now = time(nullptr);
  static std::atomic<int> serial{0};
  std::string claims = absl::StrCat("{\"iss\":\"", options_.issuer, "\",\"sub\":\"\",\"aud\":\"",
                                    options_.service, "\",\"exp\":", now + 300,
                                    ",\"nbf\":", now - 10, ",\"iat\":", now, ",\"jti\":\"peapod-",
                                    serial++, "\",\"access\":[", absl::StrJoin(access, ","), "]}");
  std::string signing_input = B64Url(header) + "." + B64Url(claims);

  // ECDSA over SHA-256; JWS wants r || s, 32 bytes each, not OpenSSL's DER.
  MdCtxPtr ctx(EVP_MD_CTX_new());
  size_t der_len = 0;
  Check(ctx && EVP_DigestSignInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) == 1 &&
            EVP_DigestSign(ctx.get(), nullptr, &der_len,
                           reinterpret_cast<const unsigned char*>(signing_input.data()),
                           signing_input.size()) == 1,
        "EVP_DigestSign (size)");
  std::string der(der_len, '\0');
  Check(EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(der.data()), &der_len,
                       reinterpret_cast<const unsigned char*>(signing_input.data()),
                       signing_input.size()) == 1,
        "EVP_DigestSign");
  const unsigned char* p = reinterpret_cast<const unsigned char*>(der.data());
  EcdsaSigPtr sig(d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der_len)));
  Check(sig != nullptr, "d2i_ECDSA_SIG");
  std::string raw(64, '\0');
  Check(BN_bn2binpad(ECDSA_SIG_get0_r(sig.get()), reinterpret_cast<unsigned char*>(raw.data()),
                     32) == 32 &&
            BN_bn2binpad(ECDSA_SIG_get0_s(sig.get()),
                         reinterpret_cast<unsigned char*>(raw.data()) + 32, 32) == 32,
        "BN_bn2binpad");
  return signing_input + "." + B64Url(raw);
}

}  // namespace peapod::images::testing
