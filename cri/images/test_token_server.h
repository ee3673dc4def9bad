// Test helper: an anonymous token server for a registry's bearer-token auth
// (the docker/distribution JWT scheme) on 127.0.0.1. It makes an EC P-256
// key and a self-signed certificate (written for the registry's
// rootcertbundle) and answers GET /token?service=..&scope=.. with ES256 JWTs
// whose `access` grants pull on the repositories it was told are public;
// other repositories get a token without access, as the token spec says.
// Repositories listed as forbidden get HTTP 403 from the token endpoint.
#pragma once

#include <openssl/types.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace peapod::images::testing {

class TestTokenServer {
 public:
  struct Options {
    std::string dir;                  // where the certificate is written
    std::set<std::string> pullable;   // repositories anyone may pull
    std::set<std::string> forbidden;  // token requests for these get 403
    std::string service = "peapod-test-registry";
    std::string issuer = "peapod-test-issuer";
  };
  explicit TestTokenServer(Options options);
  ~TestTokenServer();
  TestTokenServer(const TestTokenServer&) = delete;
  TestTokenServer& operator=(const TestTokenServer&) = delete;

  // "http://127.0.0.1:<port>/token".
  std::string realm() const { return realm_; }
  // PEM certificate of the signing key (the registry's rootcertbundle).
  std::string cert_path() const { return options_.dir + "/token-signer.crt"; }
  const std::string& service() const { return options_.service; }
  const std::string& issuer() const { return options_.issuer; }
  // Every token request's query string, in order.
  std::vector<std::string> requests() const;

 private:
  void Serve();
  void Answer(int fd);
  std::string Token(const std::vector<std::string>& scopes) const;

  Options options_;
  std::string realm_;
  std::shared_ptr<EVP_PKEY> key_;  // the signing key
  std::string cert_der_;           // its certificate, for the x5c header
  int listen_fd_ = -1;
  int stop_fd_ = -1;  // eventfd that ends Serve()
  std::thread thread_;
  mutable std::mutex mu_;
  std::vector<std::string> requests_;
};

}  // namespace peapod::images::testing
