// A Registry HTTP API v2 client (libcurl) for one repository on one
// endpoint: manifests and blobs, with anonymous bearer-token and basic auth.
#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <string>

#include "absl/status/statusor.h"
#include "cri/images/registry_config.h"

namespace peapod::images {

// Credentials as CRI's AuthConfig carries them.
struct AuthConfig {
  std::string username;
  std::string password;
  std::string auth;            // base64("user:password"), used when username is empty
  std::string identity_token;  // OAuth refresh token: carried, not used yet
                               // (no OAuth POST to the token server)
  std::string registry_token;  // a bearer token to use as is
};

// Key/value parameters of a WWW-Authenticate challenge; "scheme" holds
// "Bearer" or "Basic" (exposed for tests).
std::map<std::string, std::string> ParseChallenge(const std::string& header);

struct FetchedManifest {
  std::string body;
  std::string media_type;  // Content-Type (parameters stripped)
  std::string digest;      // sha256 of body
};

class RegistryClient {
 public:
  RegistryClient(Endpoint endpoint, std::string repository, AuthConfig auth);

  // GET /v2/<repo>/manifests/<tag or digest>, at most kMaxDocumentBytes.
  absl::StatusOr<FetchedManifest> GetManifest(const std::string& reference);
  // GET a blob into memory (at most max_bytes), verifying its digest.
  absl::StatusOr<std::string> GetBlob(const std::string& digest, size_t max_bytes);
  // Streams a blob to `sink` as it arrives (no verification here).
  absl::Status StreamBlob(const std::string& digest,
                          const std::function<absl::Status(const char*, size_t)>& sink);

 public:
  struct Response;  // one HTTP exchange (internal)

 private:
  absl::StatusOr<Response> Get(const std::string& url, const std::string& accept,
                               const std::function<absl::Status(const char*, size_t)>& sink);
  absl::StatusOr<Response> GetAuthorized(
      const std::string& url, const std::string& accept,
      const std::function<absl::Status(const char*, size_t)>& sink);
  absl::Status Authenticate(const std::string& challenge);
  std::string BasicCredentials() const;

  Endpoint endpoint_;
  std::string repository_;
  AuthConfig auth_;
  std::mutex mu_;
  std::string authorization_;  // the Authorization header value, once known
};

}  // namespace peapod::images
