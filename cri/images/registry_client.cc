#include "cri/images/registry_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <memory>
#include <mutex>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cri/images/digest.h"
#include "cri/images/manifest.h"
#include "oci/spec/json.h"

namespace peapod::images {
namespace {

struct CurlDeleter {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};
using CurlPtr = std::unique_ptr<CURL, CurlDeleter>;
using SlistPtr = std::unique_ptr<curl_slist, CurlDeleter>;

constexpr size_t kMaxErrorBody = 4096;

std::string Base64(absl::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), in.size());
  out.resize(n);
  return out;
}

std::string Escape(CURL* c, const std::string& s) {
  char* e = curl_easy_escape(c, s.c_str(), static_cast<int>(s.size()));
  std::string out = e ? e : "";
  curl_free(e);
  return out;
}

absl::Status HttpError(long code, const std::string& url, const std::string& body) {
  std::string msg = absl::StrCat("GET ", url, ": HTTP ", code, " ", body.substr(0, 200));
  if (code == 401 || code == 403) return absl::PermissionDeniedError(msg);
  if (code == 404) return absl::NotFoundError(msg);
  if (code == 429 || code >= 500) return absl::UnavailableError(msg);
  return absl::InternalError(msg);
}

}  // namespace

std::map<std::string, std::string> ParseChallenge(const std::string& header) {
  std::map<std::string, std::string> out;
  absl::string_view h = absl::StripAsciiWhitespace(header);
  size_t sp = h.find(' ');
  out["scheme"] = absl::AsciiStrToLower(std::string(h.substr(0, sp)));
  if (sp == absl::string_view::npos) return out;
  h = h.substr(sp + 1);
  while (!h.empty()) {
    h = absl::StripLeadingAsciiWhitespace(h);
    size_t eq = h.find('=');
    if (eq == absl::string_view::npos) break;
    std::string key =
        absl::AsciiStrToLower(std::string(absl::StripAsciiWhitespace(h.substr(0, eq))));
    h = h.substr(eq + 1);
    std::string value;
    if (!h.empty() && h[0] == '"') {
      size_t i = 1;
      for (; i < h.size() && h[i] != '"'; ++i) {
        if (h[i] == '\\' && i + 1 < h.size()) ++i;
        value.push_back(h[i]);
      }
      h = h.substr(std::min<size_t>(i + 1, h.size()));
    } else {
      size_t end = h.find(',');
      value = std::string(absl::StripAsciiWhitespace(h.substr(0, end)));
      h = end == absl::string_view::npos ? "" : h.substr(end);
    }
    out[key] = value;
    size_t comma = h.find(',');
    h = comma == absl::string_view::npos ? "" : h.substr(comma + 1);
  }
  return out;
}

struct RegistryClient::Response {
  long code = 0;
  std::string content_type;
  std::string www_authenticate;
  std::string error_body;
  absl::Status sink_status;
  CURL* curl = nullptr;
  const std::function<absl::Status(const char*, size_t)>* sink = nullptr;
};

namespace {

size_t OnHeader(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<RegistryClient::Response*>(user);
  absl::string_view line(data, size * n);
  if (absl::StartsWith(line, "HTTP/")) {  // a new response (after a redirect)
    r->content_type.clear();
    r->www_authenticate.clear();
  }
  size_t colon = line.find(':');
  if (colon == absl::string_view::npos) return size * n;
  std::string name = absl::AsciiStrToLower(std::string(line.substr(0, colon)));
  std::string value(absl::StripAsciiWhitespace(line.substr(colon + 1)));
  if (name == "content-type") r->content_type = value.substr(0, value.find(';'));
  if (name == "www-authenticate") r->www_authenticate = value;
  return size * n;
}

size_t OnBody(char* data, size_t size, size_t n, void* user) {
  auto* r = static_cast<RegistryClient::Response*>(user);
  long code = 0;
  curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &code);
  if (code >= 300) {
    size_t room = kMaxErrorBody - std::min(kMaxErrorBody, r->error_body.size());
    r->error_body.append(data, std::min(room, size * n));
    return size * n;
  }
  r->sink_status = (*r->sink)(data, size * n);
  return r->sink_status.ok() ? size * n : 0;
}

}  // namespace

RegistryClient::RegistryClient(Endpoint endpoint, std::string repository, AuthConfig auth)
    : endpoint_(std::move(endpoint)), repository_(std::move(repository)), auth_(std::move(auth)) {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

absl::StatusOr<RegistryClient::Response> RegistryClient::Get(
    const std::string& url, const std::string& accept,
    const std::function<absl::Status(const char*, size_t)>& sink) {
  CurlPtr c(curl_easy_init());
  if (!c) return absl::InternalError("curl_easy_init failed");
  SlistPtr headers;
  auto add = [&](const std::string& h) {
    headers.reset(curl_slist_append(headers.release(), h.c_str()));
  };
  if (!accept.empty()) add("Accept: " + accept);
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!authorization_.empty()) add("Authorization: " + authorization_);
  }
  Response r;
  r.curl = c.get();
  r.sink = &sink;
  bool https = absl::StartsWith(url, "https://");
  curl_easy_setopt(c.get(), CURLOPT_URL, url.c_str());
  curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(c.get(), CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(c.get(), CURLOPT_MAXREDIRS, 5L);
  curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(c.get(), CURLOPT_REDIR_PROTOCOLS_STR, https ? "https" : "http,https");
  curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 30L);
  curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(c.get(), CURLOPT_LOW_SPEED_TIME, 60L);
  curl_easy_setopt(c.get(), CURLOPT_BUFFERSIZE, 256L * 1024);
  curl_easy_setopt(c.get(), CURLOPT_USERAGENT, "peapod/0.1");
  curl_easy_setopt(c.get(), CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(c.get(), CURLOPT_HEADERDATA, &r);
  curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &r);
  CURLcode rc = curl_easy_perform(c.get());
  if (!r.sink_status.ok()) return r.sink_status;
  if (rc != CURLE_OK) {
    return absl::UnavailableError(absl::StrCat("GET ", url, ": ", curl_easy_strerror(rc)));
  }
  curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &r.code);
  return r;
}

std::string RegistryClient::BasicCredentials() const {
  if (!auth_.username.empty()) return Base64(auth_.username + ":" + auth_.password);
  return auth_.auth;
}

absl::Status RegistryClient::Authenticate(const std::string& challenge) {
  auto params = ParseChallenge(challenge);
  std::string basic = BasicCredentials();
  if (params["scheme"] == "basic") {
    if (basic.empty()) return absl::PermissionDeniedError("registry requires credentials");
    std::lock_guard<std::mutex> l(mu_);
    authorization_ = "Basic " + basic;
    return absl::OkStatus();
  }
  if (params["scheme"] != "bearer") {
    return absl::PermissionDeniedError("unsupported auth challenge: " + challenge);
  }
  if (!auth_.registry_token.empty()) {
    std::lock_guard<std::mutex> l(mu_);
    authorization_ = "Bearer " + auth_.registry_token;
    return absl::OkStatus();
  }
  if (params["realm"].empty()) return absl::PermissionDeniedError("bearer challenge without realm");
  std::string scope =
      params.count("scope") ? params["scope"] : "repository:" + repository_ + ":pull";
  CurlPtr esc(curl_easy_init());
  std::string url = absl::StrCat(
      params["realm"], absl::StrContains(params["realm"], "?") ? "&" : "?",
      "service=", Escape(esc.get(), params["service"]), "&scope=", Escape(esc.get(), scope));
  {
    std::lock_guard<std::mutex> l(mu_);
    authorization_ = basic.empty() ? "" : "Basic " + basic;  // sent to the token server only
  }
  std::string body;
  auto r = Get(url, "application/json", [&](const char* d, size_t n) {
    if (body.size() + n > (1 << 20)) return absl::OutOfRangeError("token response too large");
    body.append(d, n);
    return absl::OkStatus();
  });
  if (!r.ok()) return r.status();
  if (r->code != 200) {
    absl::Status e = HttpError(r->code, url, r->error_body);
    return absl::Status(e.code(), absl::StrCat("token server ", params["realm"], " refused ", scope,
                                               " for ", endpoint_.base_url, ": ", e.message()));
  }
  auto v = json::Parse(body);
  if (!v.ok()) return v.status();
  std::string token;
  for (const char* key : {"token", "access_token"}) {
    const json::Value* t = v->Find(key);
    if (t != nullptr && t->is_string() && token.empty()) token = t->as_string();
  }
  if (token.empty()) return absl::PermissionDeniedError("token server returned no token");
  std::lock_guard<std::mutex> l(mu_);
  authorization_ = "Bearer " + token;
  return absl::OkStatus();
}

absl::StatusOr<RegistryClient::Response> RegistryClient::GetAuthorized(
    const std::string& url, const std::string& accept,
    const std::function<absl::Status(const char*, size_t)>& sink) {
  auto r = Get(url, accept, sink);
  if (!r.ok() || r->code != 401 || r->www_authenticate.empty()) return r;
  std::string challenge = r->www_authenticate;
  if (absl::Status s = Authenticate(challenge); !s.ok()) return s;
  r = Get(url, accept, sink);
  if (r.ok() && (r->code == 401 || r->code == 403)) {
    // Authenticated, yet refused: the credentials or the token's scope do
    // not cover this repository.
    auto params = ParseChallenge(challenge);
    std::string how = params["scheme"] == "bearer" ? absl::StrCat("a token from ", params["realm"])
                                                   : std::string("the credentials given");
    return absl::PermissionDeniedError(
        absl::StrCat("registry ", endpoint_.base_url, " denied access to ", repository_, " with ",
                     how, ": GET ", url, ": HTTP ", r->code, " ", r->error_body.substr(0, 200)));
  }
  return r;
}

absl::StatusOr<FetchedManifest> RegistryClient::GetManifest(const std::string& reference) {
  std::string url = absl::StrCat(endpoint_.base_url, "/v2/", repository_, "/manifests/", reference);
  FetchedManifest m;
  auto r = GetAuthorized(url, std::string(kManifestAccept), [&](const char* d, size_t n) {
    if (m.body.size() + n > kMaxDocumentBytes) return absl::OutOfRangeError("manifest too large");
    m.body.append(d, n);
    return absl::OkStatus();
  });
  if (!r.ok()) return r.status();
  if (r->code != 200) return HttpError(r->code, url, r->error_body);
  m.media_type = r->content_type;
  m.digest = DigestOf(m.body);
  return m;
}

absl::StatusOr<std::string> RegistryClient::GetBlob(const std::string& digest, size_t max_bytes) {
  std::string body;
  absl::Status s = StreamBlob(digest, [&](const char* d, size_t n) {
    if (body.size() + n > max_bytes) return absl::OutOfRangeError("blob " + digest + " too large");
    body.append(d, n);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (DigestOf(body) != digest) return absl::DataLossError("blob digest mismatch: " + digest);
  return body;
}

absl::Status RegistryClient::StreamBlob(
    const std::string& digest, const std::function<absl::Status(const char*, size_t)>& sink) {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  std::string url = absl::StrCat(endpoint_.base_url, "/v2/", repository_, "/blobs/", digest);
  auto r = GetAuthorized(url, "", sink);
  if (!r.ok()) return r.status();
  if (r->code != 200) return HttpError(r->code, url, r->error_body);
  return absl::OkStatus();
}

}  // namespace peapod::images
