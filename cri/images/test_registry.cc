#include "cri/images/test_registry.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <thread>

#include "cri/images/digest.h"
#include "cri/images/test_openssl.h"

namespace peapod::images::testing {
namespace {

int FreePort(const std::string& ip) {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, ip.c_str(), &a.sin_addr);
  bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  getsockname(s, reinterpret_cast<sockaddr*>(&a), &len);
  close(s);
  return ntohs(a.sin_port);
}

size_t Collect(char* d, size_t s, size_t n, void* out) {
  static_cast<std::string*>(out)->append(d, s * n);
  return s * n;
}

size_t CaptureLocation(char* d, size_t s, size_t n, void* out) {
  std::string line(d, s * n);
  if (line.size() > 9 && strncasecmp(line.c_str(), "location:", 9) == 0) {
    std::string v = line.substr(9);
    v.erase(0, v.find_first_not_of(" "));
    v.erase(v.find_last_not_of("\r\n") + 1);
    *static_cast<std::string*>(out) = v;
  }
  return s * n;
}

std::string Descriptor(const std::string& type, const std::string& digest, size_t size) {
  return "{\"mediaType\":\"" + type + "\",\"digest\":\"" + digest +
         "\",\"size\":" + std::to_string(size) + "}";
}

std::string UserConfig(const std::string& user) { return "{\"User\":\"" + user + "\"}"; }

// `config_object`: the image config's "config" member, JSON text.
TestImage BuildWithTypes(const std::vector<std::string>& layers,
                         const std::vector<std::string>& diff_ids, const std::string& config_object,
                         const std::string& layer_type, const std::string& arch,
                         const std::string& manifest_type, const std::string& config_type) {
  TestImage im;
  std::string ids;
  for (const auto& d : diff_ids) ids += (ids.empty() ? "\"" : ",\"") + d + "\"";
  std::string config = "{\"architecture\":\"" + arch +
                       "\",\"os\":\"linux\",\"config\":" + config_object +
                       ",\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + ids + "]}}";
  im.config_digest = DigestOf(config);
  im.blobs[im.config_digest] = config;
  std::string layer_json;
  for (const auto& l : layers) {
    im.blobs[DigestOf(l)] = l;
    layer_json += (layer_json.empty() ? "" : ",") + Descriptor(layer_type, DigestOf(l), l.size());
  }
  im.media_type = manifest_type;
  im.manifest = "{\"schemaVersion\":2,\"mediaType\":\"" + im.media_type +
                "\",\"config\":" + Descriptor(config_type, im.config_digest, config.size()) +
                ",\"layers\":[" + layer_json + "]}";
  im.digest = DigestOf(im.manifest);
  return im;
}

}  // namespace

TestImage BuildImage(const std::vector<std::string>& layers,
                     const std::vector<std::string>& diff_ids, const std::string& user,
                     const std::string& layer_type, const std::string& arch) {
  return BuildWithTypes(layers, diff_ids, UserConfig(user), layer_type, arch,
                        "application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.oci.image.config.v1+json");
}

TestImage BuildImageWithConfig(const std::vector<std::string>& tars,
                               const std::string& config_object) {
  std::vector<std::string> diff_ids;
  for (const std::string& t : tars) diff_ids.push_back(DigestOf(t));
  return BuildWithTypes(tars, diff_ids, config_object, "application/vnd.oci.image.layer.v1.tar",
                        "amd64", "application/vnd.oci.image.manifest.v1+json",
                        "application/vnd.oci.image.config.v1+json");
}

TestImage BuildDockerImage(const std::vector<std::string>& gzip_layers,
                           const std::vector<std::string>& diff_ids, const std::string& user,
                           const std::string& arch) {
  return BuildWithTypes(gzip_layers, diff_ids, UserConfig(user),
                        "application/vnd.docker.image.rootfs.diff.tar.gzip", arch,
                        "application/vnd.docker.distribution.manifest.v2+json",
                        "application/vnd.docker.container.image.v1+json");
}

TestImage BuildIndex(const std::vector<std::pair<std::string, TestImage>>& by_arch, bool docker) {
  TestImage idx;
  std::string list;
  for (const auto& [platform, im] : by_arch) {
    size_t slash = platform.find('/');
    std::string os = slash == std::string::npos ? "linux" : platform.substr(0, slash);
    std::string arch = slash == std::string::npos ? platform : platform.substr(slash + 1);
    list += (list.empty() ? "" : ",") + std::string("{\"mediaType\":\"") + im.media_type +
            "\",\"digest\":\"" + im.digest + "\",\"size\":" + std::to_string(im.manifest.size()) +
            ",\"platform\":{\"os\":\"" + os + "\",\"architecture\":\"" + arch + "\"}}";
  }
  idx.media_type = docker ? "application/vnd.docker.distribution.manifest.list.v2+json"
                          : "application/vnd.oci.image.index.v1+json";
  idx.manifest =
      "{\"schemaVersion\":2,\"mediaType\":\"" + idx.media_type + "\",\"manifests\":[" + list + "]}";
  idx.digest = DigestOf(idx.manifest);
  return idx;
}

TestRegistry::TestRegistry(const std::string& user, const std::string& password)
    : TestRegistry(RegistryOptions{.user = user, .password = password}) {}

TestRegistry::TestRegistry(const RegistryOptions& options)
    : user_(options.user), password_(options.password) {
  dir_ = MakeTempDir("peapod-registry");
  storage_dir_ = options.storage_dir.empty() ? dir_ + "/data" : options.storage_dir;
  int port = FreePort(options.ip);
  host_ = options.ip + ":" + std::to_string(port);
  tls_ = !options.tls_cert.empty();
  std::ofstream cfg(dir_ + "/config.yml");
  cfg << "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
      << storage_dir_ << "\n  delete:\n    enabled: true\nhttp:\n  addr: " << host_ << "\n";
  if (tls_) {
    cfg << "  tls:\n    certificate: " << options.tls_cert << "\n    key: " << options.tls_key
        << "\n";
  }
  if (!user_.empty()) {
    char salt[CRYPT_GENSALT_OUTPUT_SIZE];
    crypt_gensalt_rn("$2b$", 5, nullptr, 0, salt, sizeof salt);
    std::ofstream(dir_ + "/htpasswd") << user_ << ":" << crypt(password_.c_str(), salt) << "\n";
    cfg << "auth:\n  htpasswd:\n    realm: peapod-test\n    path: " << dir_ << "/htpasswd\n";
  } else if (options.token) {
    cfg << "auth:\n  token:\n    realm: " << options.token->realm
        << "\n    service: " << options.token->service << "\n    issuer: " << options.token->issuer
        << "\n    rootcertbundle: " << options.token->rootcertbundle << "\n";
  }
  cfg.close();
  pid_ = fork();
  if (pid_ == 0) {
    freopen((dir_ + "/registry.log").c_str(), "w", stderr);
    freopen((dir_ + "/registry.log").c_str(), "a", stdout);
    execl("/usr/bin/docker-registry", "docker-registry", "serve", (dir_ + "/config.yml").c_str(),
          nullptr);
    _exit(127);
  }
  for (int i = 0; i < 200; ++i) {
    std::string out;
    if (Request("GET", Base() + "/v2/", "", "", nullptr) > 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  throw std::runtime_error("docker-registry did not start; see " + dir_ + "/registry.log");
}

TestRegistry::~TestRegistry() {
  if (pid_ > 0) {
    kill(pid_, SIGTERM);
    waitpid(pid_, nullptr, 0);
  }
  std::filesystem::remove_all(dir_);
}

long TestRegistry::Request(const std::string& method, const std::string& url,
                           const std::string& body, const std::string& content_type,
                           std::string* location) {
  CURL* c = curl_easy_init();
  std::string out;
  curl_slist* headers = nullptr;
  if (!content_type.empty())
    headers = curl_slist_append(headers, ("Content-Type: " + content_type).c_str());
  curl_easy_setopt(c, CURLOPT_URL, url.c_str());
  curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method.c_str());
  if (method != "GET") {
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, Collect);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &out);
  curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, CaptureLocation);
  // The test's own pushes skip verification; what a pull checks is the test's point.
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 0L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 0L);
  std::string loc;
  curl_easy_setopt(c, CURLOPT_HEADERDATA, &loc);
  if (!user_.empty()) {
    curl_easy_setopt(c, CURLOPT_USERNAME, user_.c_str());
    curl_easy_setopt(c, CURLOPT_PASSWORD, password_.c_str());
  }
  long code = 0;
  if (curl_easy_perform(c) == CURLE_OK) curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  curl_slist_free_all(headers);
  curl_easy_cleanup(c);
  if (location != nullptr) *location = loc;
  return code;
}

long TestRegistry::Push(const std::string& repo, const std::string& tag, const TestImage& image) {
  std::string base = Base() + "/v2/" + repo;
  for (const auto& [digest, data] : image.blobs) {
    std::string loc;
    if (Request("POST", base + "/blobs/uploads/", "", "", &loc) != 202) {
      throw std::runtime_error("upload start failed");
    }
    if (loc.rfind("http", 0) != 0) loc = Base() + loc;
    loc += (loc.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
    if (Request("PUT", loc, data, "application/octet-stream", nullptr) != 201) {
      throw std::runtime_error("blob upload failed");
    }
  }
  return Request("PUT", base + "/manifests/" + (tag.empty() ? image.digest : tag), image.manifest,
                 image.media_type, nullptr);
}

std::string TestRegistry::BlobDataPath(const std::string& digest) const {
  std::string hex = DigestHex(digest);
  return storage_dir_ + "/docker/registry/v2/blobs/sha256/" + hex.substr(0, 2) + "/" + hex +
         "/data";
}

// Named: in a unity build this file shares a unit with the token server.
namespace tls_gen {

void Check(bool ok, const char* what) { OpenSslCheck(ok, "test TLS files", what); }

void AddExtension(X509* cert, X509* issuer, int nid, const char* value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
  Check(ext != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(cert, ext, -1);
  X509_EXTENSION_free(ext);
}

X509Ptr NewCert(const char* cn, EVP_PKEY* key, long serial) {
  X509Ptr cert(X509_new());
  Check(cert != nullptr, "X509_new");
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 24 * 3600);
  X509_NAME_add_entry_by_txt(X509_get_subject_name(cert.get()), "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn), -1, -1, 0);
  X509_set_pubkey(cert.get(), key);
  return cert;
}

void WritePem(const std::string& path, X509* cert, EVP_PKEY* key) {
  FILE* f = fopen(path.c_str(), "w");
  Check(f != nullptr, "open PEM file");
  bool ok = cert != nullptr
                ? PEM_write_X509(f, cert) == 1
                : PEM_write_PrivateKey(f, key, nullptr, nullptr, 0, nullptr, nullptr) == 1;
  fclose(f);
  Check(ok, "PEM write");
}

}  // namespace tls_gen

TlsFiles MakeTlsFiles(const std::string& dir, const std::string& ip) {
  PkeyPtr ca_key(EVP_EC_gen("P-256"));
  PkeyPtr key(EVP_EC_gen("P-256"));
  tls_gen::Check(ca_key != nullptr && key != nullptr, "EC key generation");
  X509Ptr ca = tls_gen::NewCert("peapod test CA", ca_key.get(), 1);
  X509_set_issuer_name(ca.get(), X509_get_subject_name(ca.get()));
  tls_gen::AddExtension(ca.get(), ca.get(), NID_basic_constraints, "critical,CA:TRUE");
  tls_gen::AddExtension(ca.get(), ca.get(), NID_key_usage, "critical,keyCertSign,cRLSign");
  tls_gen::AddExtension(ca.get(), ca.get(), NID_subject_key_identifier, "hash");
  tls_gen::Check(X509_sign(ca.get(), ca_key.get(), EVP_sha256()) > 0, "sign CA");
  X509Ptr cert = tls_gen::NewCert("peapod test registry", key.get(), 2);
  X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.get()));
  tls_gen::AddExtension(cert.get(), ca.get(), NID_subject_alt_name, ("IP:" + ip).c_str());
  tls_gen::AddExtension(cert.get(), ca.get(), NID_ext_key_usage, "serverAuth");
  tls_gen::AddExtension(cert.get(), ca.get(), NID_authority_key_identifier, "keyid");
  tls_gen::Check(X509_sign(cert.get(), ca_key.get(), EVP_sha256()) > 0, "sign server certificate");
  TlsFiles files{dir + "/ca.pem", dir + "/server.pem", dir + "/server-key.pem"};
  tls_gen::WritePem(files.ca_cert, ca.get(), nullptr);
  tls_gen::WritePem(files.server_cert, cert.get(), nullptr);
  tls_gen::WritePem(files.server_key, nullptr, key.get());
  return files;
}

}  // namespace peapod::images::testing
