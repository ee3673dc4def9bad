// Image records on disk: images/<confighex>.json, written atomically.
#include <string>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "cri/images/image_store.h"
#include "oci/spec/json.h"

namespace peapod::images {
namespace {

json::Value StringArray(const std::vector<std::string>& v) {
  json::Array a;
  for (const auto& s : v) a.emplace_back(s);
  return json::Value(std::move(a));
}

absl::Status ReadStrings(const json::Reader& r, std::string_view key,
                         std::vector<std::string>& out) {
  std::optional<json::Reader> m = r.Get(key);
  if (!m) return absl::OkStatus();
  auto v = m->StringArray();
  if (!v.ok()) return v.status();
  out = *std::move(v);
  return absl::OkStatus();
}

absl::Status ReadString(const json::Reader& r, std::string_view key, std::string& out) {
  std::optional<json::Reader> m = r.Get(key);
  if (!m) return absl::OkStatus();
  auto v = m->String();
  if (!v.ok()) return v.status();
  out = *std::move(v);
  return absl::OkStatus();
}

}  // namespace

ImageUser ParseImageUser(const std::string& user) {
  ImageUser out;
  std::string name = user.substr(0, user.find(':'));
  int64_t uid;
  if (!name.empty() && absl::SimpleAtoi(name, &uid) && uid >= 0) {
    out.uid = uid;
  } else {
    out.username = name;
  }
  return out;
}

std::string EncodeImageRecord(const ImageRecord& im) {
  json::Value v{json::Object{}};
  v.Set("id", im.id);
  v.Set("repoTags", StringArray(im.repo_tags));
  v.Set("repoDigests", StringArray(im.repo_digests));
  v.Set("manifestDigest", im.manifest_digest);
  v.Set("indexDigest", im.index_digest);
  v.Set("configDigest", im.config_digest);
  v.Set("layerDigests", StringArray(im.layer_digests));
  v.Set("diffIds", StringArray(im.diff_ids));
  v.Set("chainIds", StringArray(im.chain_ids));
  v.Set("size", json::Value(static_cast<uint64_t>(im.size)));
  v.Set("user", im.user);
  return json::Write(v, true);
}

absl::StatusOr<ImageRecord> DecodeImageRecord(std::string_view text) {
  auto v = json::Parse(text);
  if (!v.ok()) return v.status();
  json::Reader r(*v, "$");
  if (absl::Status s = r.ExpectObject(); !s.ok()) return s;
  ImageRecord im;
  for (auto [key, out] : {std::pair<const char*, std::string*>{"id", &im.id},
                          {"manifestDigest", &im.manifest_digest},
                          {"indexDigest", &im.index_digest},
                          {"configDigest", &im.config_digest},
                          {"user", &im.user}}) {
    if (absl::Status s = ReadString(r, key, *out); !s.ok()) return s;
  }
  for (auto [key, out] :
       {std::pair<const char*, std::vector<std::string>*>{"repoTags", &im.repo_tags},
        {"repoDigests", &im.repo_digests},
        {"layerDigests", &im.layer_digests},
        {"diffIds", &im.diff_ids},
        {"chainIds", &im.chain_ids}}) {
    if (absl::Status s = ReadStrings(r, key, *out); !s.ok()) return s;
  }
  if (auto size = r.Get("size")) {
    auto n = size->Uint64();
    if (!n.ok()) return n.status();
    im.size = *n;
  }
  if (im.id.empty()) return absl::DataLossError("image record without id");
  return im;
}

}  // namespace peapod::images
