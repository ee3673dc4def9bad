#include "cri/images/test_registry.h"

#include <crypt.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "cri/images/digest.h"

namespace peapod::images::testing {
namespace {

int FreePort() {
  int s = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
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

}  // namespace

TestImage BuildImage(const std::vector<std::string>& layers,
                     const std::vector<std::string>& diff_ids, const std::string& user,
                     const std::string& layer_type, const std::string& arch) {
  TestImage im;
  std::string ids;
  for (const auto& d : diff_ids) ids += (ids.empty() ? "\"" : ",\"") + d + "\"";
  std::string config = "{\"architecture\":\"" + arch +
                       "\",\"os\":\"linux\",\"config\":{\"User\":\"" + user +
                       "\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[" + ids + "]}}";
  im.config_digest = DigestOf(config);
  im.blobs[im.config_digest] = config;
  std::string layer_json;
  for (const auto& l : layers) {
    im.blobs[DigestOf(l)] = l;
    layer_json += (layer_json.empty() ? "" : ",") + Descriptor(layer_type, DigestOf(l), l.size());
  }
  im.media_type = "application/vnd.oci.image.manifest.v1+json";
  im.manifest =
      "{\"schemaVersion\":2,\"mediaType\":\"" + im.media_type + "\",\"config\":" +
      Descriptor("application/vnd.oci.image.config.v1+json", im.config_digest, config.size()) +
      ",\"layers\":[" + layer_json + "]}";
  im.digest = DigestOf(im.manifest);
  return im;
}

TestImage BuildIndex(const std::vector<std::pair<std::string, TestImage>>& by_arch) {
  TestImage idx;
  std::string list;
  for (const auto& [arch, im] : by_arch) {
    list += (list.empty() ? "" : ",") + std::string("{\"mediaType\":\"") + im.media_type +
            "\",\"digest\":\"" + im.digest + "\",\"size\":" + std::to_string(im.manifest.size()) +
            ",\"platform\":{\"os\":\"linux\",\"architecture\":\"" + arch + "\"}}";
  }
  idx.media_type = "application/vnd.oci.image.index.v1+json";
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
  int port = FreePort();
  host_ = "127.0.0.1:" + std::to_string(port);
  std::ofstream cfg(dir_ + "/config.yml");
  cfg << "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: "
      << storage_dir_ << "\n  delete:\n    enabled: true\nhttp:\n  addr: " << host_ << "\n";
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
    if (Request("GET", "http://" + host_ + "/v2/", "", "", nullptr) > 0) return;
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
  std::string base = "http://" + host_ + "/v2/" + repo;
  for (const auto& [digest, data] : image.blobs) {
    std::string loc;
    if (Request("POST", base + "/blobs/uploads/", "", "", &loc) != 202) {
      throw std::runtime_error("upload start failed");
    }
    if (loc.rfind("http", 0) != 0) loc = "http://" + host_ + loc;
    loc += (loc.find('?') == std::string::npos ? "?" : "&") + std::string("digest=") + digest;
    if (Request("PUT", loc, data, "application/octet-stream", nullptr) != 201) {
      throw std::runtime_error("blob upload failed");
    }
  }
  return Request("PUT", base + "/manifests/" + (tag.empty() ? image.digest : tag), image.manifest,
                 image.media_type, nullptr);
}

}  // namespace peapod::images::testing
