#include "cri/images/importer.h"

#include <fcntl.h>
#include <unistd.h>

#include <map>

#include "absl/strings/str_cat.h"
#include "cri/images/image_commit.h"
#include "cri/images/reference.h"
#include "cri/images/unpack.h"
#include "oci/spec/json.h"

namespace peapod::images {
namespace {

// Streams an open file to a sink in chunks.
absl::Status StreamFd(int fd, const std::string& what,
                      const std::function<absl::Status(const char*, size_t)>& sink) {
  std::vector<char> buf(1 << 20);
  for (;;) {
    ssize_t n = read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("read " + what, errno);
    if (n == 0) return absl::OkStatus();
    if (absl::Status s = sink(buf.data(), n); !s.ok()) return s;
  }
}

// Streams a file to a sink in chunks.
absl::Status StreamFile(const std::string& path,
                        const std::function<absl::Status(const char*, size_t)>& sink) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoStatus("open " + path, errno);
  return StreamFd(fd.get(), path, sink);
}

// Opens a file an archive's manifest.json names, inside the unpacked
// archive: its path and the symlinks it planted (docker save links
// duplicate layers to one another) resolve within the archive, never to
// the host's files.
absl::StatusOr<UniqueFd> OpenInArchive(int archive_fd, const std::string& path) {
  UniqueFd fd(OpenInRoot(archive_fd, path, O_RDONLY));
  if (!fd.valid()) return ErrnoStatus("docker-archive: open \"" + path + "\"", errno);
  return fd;
}

absl::StatusOr<std::string> ReadVerified(const std::string& dir, const std::string& digest) {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  auto body = ReadFileBounded(dir + "/blobs/sha256/" + DigestHex(digest), kMaxDocumentBytes);
  if (!body.ok()) return body.status();
  if (DigestOf(*body) != digest) return absl::DataLossError("blob digest mismatch: " + digest);
  return body;
}

std::vector<std::string> TagsFor(const std::string& ref_name, const std::string& name) {
  if (ref_name.empty()) return {};
  if (!name.empty() && ref_name.find_first_of("/:@") == std::string::npos) {
    auto r = ParseReference(name + ":" + ref_name);
    if (r.ok()) return {r->TagRef()};
  }
  auto r = ParseReference(ref_name);
  if (r.ok() && !r->tag.empty()) return {r->TagRef()};
  return {};
}

absl::StatusOr<ImageRecord> ImportOciManifest(ImageStore& store, const std::string& dir,
                                              const Descriptor& desc,
                                              std::vector<std::string> tags) {
  auto body = ReadVerified(dir, desc.digest);
  if (!body.ok()) return body.status();
  auto m = ParseManifest(*body, desc.media_type);
  if (!m.ok()) return m.status();
  CommitRequest req;
  if (m->is_index) {
    auto entry = SelectPlatform(*m);
    if (!entry.ok()) return entry.status();
    req.documents.emplace_back(desc.digest, *body);
    req.index_digest = desc.digest;
    body = ReadVerified(dir, entry->digest);
    if (!body.ok()) return body.status();
    m = ParseManifest(*body, entry->media_type);
    if (!m.ok()) return m.status();
    if (m->is_index) return absl::InvalidArgumentError("nested index is not supported");
    req.manifest_digest = entry->digest;
  } else {
    req.manifest_digest = desc.digest;
  }
  req.documents.emplace_back(req.manifest_digest, *body);
  auto config = ReadVerified(dir, m->config.digest);
  if (!config.ok()) return config.status();
  req.manifest = *std::move(m);
  req.config_body = *std::move(config);
  req.repo_tags = std::move(tags);
  return CommitImage(store, req, [&](const Descriptor& blob, const auto& sink) {
    return StreamFile(dir + "/blobs/sha256/" + DigestHex(blob.digest), sink);
  });
}

}  // namespace

absl::StatusOr<std::vector<ImageRecord>> ImportOciLayout(ImageStore& store, const std::string& dir,
                                                         const std::string& name) {
  auto lease = store.PullLease();
  if (!lease.ok()) return lease.status();
  auto text = ReadFileBounded(dir + "/index.json", kMaxDocumentBytes);
  if (!text.ok()) return text.status();
  auto index = ParseManifest(*text);
  if (!index.ok()) return index.status();
  if (!index->is_index) return absl::InvalidArgumentError(dir + "/index.json is not an index");
  auto raw = json::Parse(*text);  // for the ref.name annotations
  if (!raw.ok()) return raw.status();
  std::vector<ImageRecord> out;
  const json::Value* list = raw->Find("manifests");
  for (size_t i = 0; i < index->manifests.size(); ++i) {
    std::string ref_name;
    const json::Value* ann = list->as_array()[i].Find("annotations");
    const json::Value* rn = ann ? ann->Find("org.opencontainers.image.ref.name") : nullptr;
    if (rn != nullptr && rn->is_string()) ref_name = rn->as_string();
    auto im = ImportOciManifest(store, dir, index->manifests[i], TagsFor(ref_name, name));
    if (!im.ok()) return im.status();
    out.push_back(*std::move(im));
  }
  return out;
}

absl::StatusOr<std::vector<ImageRecord>> ImportDockerArchive(ImageStore& store,
                                                             const std::string& path) {
  // 1. Unpack the archive (safely) into a scratch dir under the store's tmp.
  std::string scratch = store.tmp_dir() + "/import-" + std::to_string(getpid()) + "-" +
                        std::to_string(reinterpret_cast<uintptr_t>(&path) & 0xffff);
  if (absl::Status s = MakeDirs(scratch, 0700); !s.ok()) return s;
  struct Cleanup {
    std::string dir;
    ~Cleanup() { (void)RemoveAll(dir); }
  } cleanup{scratch};
  UniqueFd in(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoStatus("open " + path, errno);
  auto dir = OpenDir(scratch);
  if (!dir.ok()) return dir.status();
  if (auto r = UnpackLayer(in.get(), dir->get()); !r.ok()) return r.status();
  // 2. manifest.json: [{Config, RepoTags, Layers}].
  auto manifest_fd = OpenInArchive(dir->get(), "manifest.json");
  if (!manifest_fd.ok()) return manifest_fd.status();
  auto text = ReadFdBounded(manifest_fd->get(), "manifest.json", kMaxDocumentBytes);
  if (!text.ok()) return text.status();
  auto v = json::Parse(*text);
  if (!v.ok()) return v.status();
  auto entries = json::Reader(*v, "$").Elements();
  if (!entries.ok()) return entries.status();
  std::vector<ImageRecord> out;
  for (const json::Reader& e : *entries) {
    auto config_name = e.Require("Config");
    auto layers = e.Require("Layers");
    if (!config_name.ok() || !layers.ok()) return absl::InvalidArgumentError("bad manifest.json");
    auto cfg_path = config_name->String();
    auto layer_paths = layers->StringArray();
    if (!cfg_path.ok() || !layer_paths.ok()) return absl::InvalidArgumentError("bad manifest.json");
    auto cfg_fd = OpenInArchive(dir->get(), *cfg_path);
    if (!cfg_fd.ok()) return cfg_fd.status();
    auto config = ReadFdBounded(cfg_fd->get(), *cfg_path, kMaxDocumentBytes);
    if (!config.ok()) return config.status();
    CommitRequest req;
    req.config_body = *config;
    req.manifest.config.media_type = "application/vnd.docker.container.image.v1+json";
    req.manifest.config.digest = DigestOf(*config);
    req.manifest.config.size = static_cast<int64_t>(config->size());
    std::map<std::string, std::string> files;  // layer digest → path in the archive
    for (const std::string& lp : *layer_paths) {
      auto layer_fd = OpenInArchive(dir->get(), lp);
      if (!layer_fd.ok()) return layer_fd.status();
      Sha256 h;
      if (absl::Status s = StreamFd(layer_fd->get(), lp,
                                    [&](const char* d, size_t n) {
                                      h.Update(d, n);
                                      return absl::OkStatus();
                                    });
          !s.ok()) {
        return s;
      }
      int64_t size = h.size();
      std::string digest = h.Digest();
      files[digest] = lp;
      Descriptor layer;
      layer.media_type = "application/vnd.docker.image.rootfs.diff.tar";
      layer.digest = digest;
      layer.size = size;
      req.manifest.layers.push_back(layer);
    }
    if (auto tags = e.Get("RepoTags")) {
      auto list = tags->StringArray();
      for (const std::string& t : list.ok() ? *list : std::vector<std::string>{}) {
        if (auto r = ParseReference(t); r.ok() && !r->tag.empty())
          req.repo_tags.push_back(r->TagRef());
      }
    }
    auto im = CommitImage(store, req, [&](const Descriptor& blob, const auto& sink) {
      auto fd = OpenInArchive(dir->get(), files.at(blob.digest));
      if (!fd.ok()) return fd.status();
      return StreamFd(fd->get(), files.at(blob.digest), sink);
    });
    if (!im.ok()) return im.status();
    out.push_back(*std::move(im));
  }
  return out;
}

}  // namespace peapod::images
