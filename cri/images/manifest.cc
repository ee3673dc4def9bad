#include "cri/images/manifest.h"

#include <optional>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cri/images/digest.h"
#include "oci/spec/json.h"

namespace peapod::images {
namespace {

absl::Status Optional(const json::Reader& r, std::string_view key, std::string& out) {
  if (auto m = r.Get(key)) {
    auto s = m->String();
    if (!s.ok()) return s.status();
    out = *s;
  }
  return absl::OkStatus();
}

absl::StatusOr<Descriptor> ParseDescriptor(const json::Reader& r) {
  Descriptor d;
  if (absl::Status s = r.ExpectObject(); !s.ok()) return s;
  if (absl::Status s = Optional(r, "mediaType", d.media_type); !s.ok()) return s;
  auto digest = r.Require("digest");
  if (!digest.ok()) return digest.status();
  auto ds = digest->String();
  if (!ds.ok()) return ds.status();
  d.digest = *ds;
  if (absl::Status s = ValidateDigest(d.digest); !s.ok()) return r.Error(std::string(s.message()));
  auto size = r.Require("size");
  if (!size.ok()) return size.status();
  auto n = size->Int64();
  if (!n.ok()) return n.status();
  if (*n < 0) return r.Error("negative size");
  d.size = *n;
  if (auto p = r.Get("platform")) {
    if (absl::Status s = Optional(*p, "os", d.os); !s.ok()) return s;
    if (absl::Status s = Optional(*p, "architecture", d.architecture); !s.ok()) return s;
    if (absl::Status s = Optional(*p, "variant", d.variant); !s.ok()) return s;
  }
  return d;
}

absl::StatusOr<std::vector<Descriptor>> ParseDescriptors(const json::Reader& r) {
  auto elems = r.Elements();
  if (!elems.ok()) return elems.status();
  std::vector<Descriptor> out;
  for (const json::Reader& e : *elems) {
    auto d = ParseDescriptor(e);
    if (!d.ok()) return d.status();
    out.push_back(*std::move(d));
  }
  return out;
}

// Whether a media type names an index (true), a manifest (false), or
// neither (nullopt).
std::optional<bool> IsIndexType(std::string_view t) {
  if (t == kOciIndex || t == kDockerList) return true;
  if (t == kOciManifest || t == kDockerManifest) return false;
  return std::nullopt;
}

bool KnownLayerType(std::string_view t) {
  return t.empty() || t.starts_with("application/vnd.oci.image.layer.v1.tar") ||
         t.starts_with("application/vnd.docker.image.rootfs.diff.tar");
}

}  // namespace

absl::StatusOr<Manifest> ParseManifest(std::string_view body,
                                       std::string_view declared_media_type) {
  auto v = json::Parse(body);
  if (!v.ok()) return v.status();
  json::Reader r(*v, "$");
  if (absl::Status s = r.ExpectObject(); !s.ok()) return s;
  bool has_manifests = r.Get("manifests").has_value();
  bool has_image = r.Get("layers").has_value() || r.Get("config").has_value();
  if (has_manifests && has_image) {
    return absl::InvalidArgumentError("document is both an index and a manifest");
  }
  // A type that names the other kind of document makes it ambiguous too:
  // another client may read it as that kind.
  std::string own_type;
  if (absl::Status s = Optional(r, "mediaType", own_type); !s.ok()) return s;
  for (std::string_view type : {std::string_view(own_type), declared_media_type}) {
    std::optional<bool> index = IsIndexType(type);
    if (index && *index != has_manifests) {
      return absl::InvalidArgumentError(absl::StrCat("document of media type ", std::string(type),
                                                     " is ",
                                                     has_manifests ? "an index" : "a manifest"));
    }
  }
  if (auto sv = r.Get("schemaVersion")) {
    auto n = sv->Int64();
    if (!n.ok() || *n != 2) return absl::InvalidArgumentError("unsupported manifest schema");
  }
  Manifest m;
  if (has_manifests) {
    m.is_index = true;
    auto list = ParseDescriptors(*r.Get("manifests"));
    if (!list.ok()) return list.status();
    m.manifests = *std::move(list);
    return m;
  }
  auto config = r.Require("config");
  if (!config.ok()) return config.status();
  auto cd = ParseDescriptor(*config);
  if (!cd.ok()) return cd.status();
  m.config = *std::move(cd);
  auto layers = r.Require("layers");
  if (!layers.ok()) return layers.status();
  auto list = ParseDescriptors(*layers);
  if (!list.ok()) return list.status();
  m.layers = *std::move(list);
  for (const Descriptor& l : m.layers) {
    if (!KnownLayerType(l.media_type)) {
      return absl::InvalidArgumentError("unsupported layer media type " + l.media_type);
    }
  }
  return m;
}

absl::StatusOr<Descriptor> SelectPlatform(const Manifest& index, std::string_view os,
                                          std::string_view architecture) {
  for (const Descriptor& d : index.manifests) {
    if (d.os == os && d.architecture == architecture) return d;
  }
  return absl::NotFoundError(absl::StrCat("no manifest for ", std::string(os), "/",
                                          std::string(architecture), " in the index"));
}

absl::StatusOr<ImageConfig> ParseImageConfig(std::string_view body) {
  auto v = json::Parse(body);
  if (!v.ok()) return v.status();
  json::Reader r(*v, "$");
  ImageConfig c;
  auto rootfs = r.Require("rootfs");
  if (!rootfs.ok()) return rootfs.status();
  auto ids = rootfs->Require("diff_ids");
  if (!ids.ok()) return ids.status();
  auto list = ids->StringArray();
  if (!list.ok()) return list.status();
  c.diff_ids = *std::move(list);
  for (const std::string& d : c.diff_ids) {
    if (absl::Status s = ValidateDigest(d); !s.ok()) return s;
  }
  if (auto cfg = r.Get("config")) {
    if (absl::Status s = Optional(*cfg, "User", c.user); !s.ok()) return s;
    if (absl::Status s = Optional(*cfg, "WorkingDir", c.working_dir); !s.ok()) return s;
    if (absl::Status s = Optional(*cfg, "StopSignal", c.stop_signal); !s.ok()) return s;
    for (auto [key, out] : {std::pair{"Entrypoint", &c.entrypoint}, std::pair{"Cmd", &c.cmd},
                            std::pair{"Env", &c.env}}) {
      auto m = cfg->Get(key);
      if (!m || m->value().is_null()) continue;
      auto list = m->StringArray();
      if (!list.ok()) return list.status();
      *out = *std::move(list);
    }
  }
  return c;
}

}  // namespace peapod::images
