// Test helper: a private Debian docker-registry on 127.0.0.1 (random port,
// filesystem storage in a temp dir, optional htpasswd basic auth), and
// pushing images built by the test through the Registry API.
#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "cri/images/test_tar.h"

namespace peapod::images::testing {

// A test image: blobs plus the manifest that names them.
struct TestImage {
  std::map<std::string, std::string> blobs;  // digest → bytes
  std::string manifest;                      // JSON
  std::string media_type;
  std::string digest;  // of the manifest
  std::string config_digest;
};

// Builds an OCI image from layer tars (already compressed as wished).
// `diff_ids` are the digests of the uncompressed tars.
TestImage BuildImage(
    const std::vector<std::string>& layers, const std::vector<std::string>& diff_ids,
    const std::string& user = "",
    const std::string& layer_media_type = "application/vnd.oci.image.layer.v1.tar+gzip",
    const std::string& architecture = "amd64");

// An OCI image of uncompressed layer tars whose config's "config" member
// (entrypoint, cmd, env, user...) is `config_object`, JSON text.
TestImage BuildImageWithConfig(const std::vector<std::string>& tars,
                               const std::string& config_object);

// The same as a Docker image: schema2 manifest, Docker config and gzip
// layer media types.
TestImage BuildDockerImage(const std::vector<std::string>& gzip_layers,
                           const std::vector<std::string>& diff_ids, const std::string& user = "",
                           const std::string& architecture = "amd64");

// An OCI index (or, with docker, a Docker manifest list) over platform
// manifests; each key is an architecture ("arm64") or "os/architecture".
TestImage BuildIndex(const std::vector<std::pair<std::string, TestImage>>& by_arch,
                     bool docker = false);

// A CA and a server certificate it signed for an IP address, as PEM files.
struct TlsFiles {
  std::string ca_cert;      // the CA's certificate
  std::string server_cert;  // the server's certificate (subjectAltName IP)
  std::string server_key;
};
// Makes them under `dir`.
TlsFiles MakeTlsFiles(const std::string& dir, const std::string& ip);

// Bearer-token auth of a registry (docker/distribution's `auth: token:`).
struct TokenAuthConfig {
  std::string realm;
  std::string service;
  std::string issuer;
  std::string rootcertbundle;  // PEM certificates of the token signers
};

struct RegistryOptions {
  std::string user, password;  // htpasswd basic auth when user is set
  std::optional<TokenAuthConfig> token;
  // Storage root of another instance to serve (say an open one used for
  // pushing); empty means a fresh one of its own.
  std::string storage_dir;
  // The loopback address to listen on.
  std::string ip = "127.0.0.1";
  // HTTPS with this certificate and key (PEM files) when set.
  std::string tls_cert, tls_key;
};

class TestRegistry {
 public:
  // Starts a registry; with a user, htpasswd basic auth is required.
  explicit TestRegistry(const std::string& user = "", const std::string& password = "");
  explicit TestRegistry(const RegistryOptions& options);
  ~TestRegistry();
  TestRegistry(const TestRegistry&) = delete;
  TestRegistry& operator=(const TestRegistry&) = delete;

  // "<ip>:<port>".
  std::string host() const { return host_; }
  // The storage root it serves (share it with another instance).
  std::string storage_dir() const { return storage_dir_; }
  // Uploads blobs and the manifest under `tag` (or the digest when tag is empty).
  // Returns the HTTP status of the manifest PUT.
  long Push(const std::string& repo, const std::string& tag, const TestImage& image);
  // Where the registry keeps a blob's bytes (tests overwrite it to make the
  // registry serve content that does not match its digest).
  std::string BlobDataPath(const std::string& digest) const;

 private:
  // "http://<host>" or "https://<host>".
  std::string Base() const { return (tls_ ? "https://" : "http://") + host_; }
  long Request(const std::string& method, const std::string& url, const std::string& body,
               const std::string& content_type, std::string* location);

  std::string dir_, host_, user_, password_, storage_dir_;
  bool tls_ = false;
  pid_t pid_ = -1;
};

}  // namespace peapod::images::testing
