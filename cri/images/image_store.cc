#include "cri/images/image_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <set>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "cri/images/reference.h"
#include "cri/util/failpoint.h"

namespace peapod::images {
namespace {

constexpr size_t kMaxRecordBytes = 1 << 20;

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    out.emplace_back(e->d_name);
  }
  closedir(d);
  return out;
}

std::string RandomName() {
  static thread_local std::mt19937_64 rng(std::random_device{}());
  return absl::StrCat(getpid(), "-", rng() & 0xffffffffffffULL);
}

bool Contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

void AddUnique(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && !Contains(v, s)) v.push_back(s);
}

bool IsHex(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
  });
}

}  // namespace

ImageStore::ImageStore(std::string root) : root_(std::move(root)), blobs_(root_, root_ + "/tmp") {}

absl::StatusOr<std::unique_ptr<ImageStore>> ImageStore::Open(const std::string& root) {
  std::unique_ptr<ImageStore> store(new ImageStore(root));
  if (absl::Status s = store->Init(); !s.ok()) return s;
  return store;
}

// Creates the layout, removes sessions whose process is gone (their lock is
// free), and starts this session's temp dir.
absl::Status ImageStore::Init() {
  for (const char* sub : {"", "/layers", "/images", "/containers", "/locks", "/tmp"}) {
    if (absl::Status s = MakeDirs(root_ + sub, 0700); !s.ok()) return s;
  }
  for (const std::string& name : ListDir(root_ + "/tmp")) {
    if (!absl::EndsWith(name, ".lock")) continue;
    std::string session = root_ + "/tmp/" + name.substr(0, name.size() - 5);
    auto lock = FileLock::TryAcquire(root_ + "/tmp/" + name);
    if (!lock.ok()) continue;  // a live session
    if (absl::Status s = RemoveAll(session); !s.ok()) return s;
    unlink((root_ + "/tmp/" + name).c_str());
  }
  std::string session = root_ + "/tmp/" + RandomName();
  auto lock = FileLock::Acquire(session + ".lock");
  if (!lock.ok()) return lock.status();
  session_lock_.emplace(*std::move(lock));
  if (mkdir(session.c_str(), 0700) != 0) return ErrnoStatus("mkdir " + session, errno);
  tmp_ = session;
  blobs_ = BlobStore(root_, tmp_);
  if (absl::Status s = blobs_.Init(); !s.ok()) return s;
  return RepairTags();
}

absl::StatusOr<FileLock> ImageStore::PullLease() {
  return FileLock::Acquire(root_ + "/locks/store.lock", /*shared=*/true);
}

absl::StatusOr<FileLock> ImageStore::LockDigest(const std::string& digest) {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  return FileLock::Acquire(root_ + "/locks/" + DigestHex(digest) + ".lock");
}

bool ImageStore::HasLayer(const std::string& chain_id) const {
  return ValidateDigest(chain_id).ok() && access(LayerDir(chain_id).c_str(), F_OK) == 0;
}

std::string ImageStore::LayerDir(const std::string& chain_id) const {
  return root_ + "/layers/" + DigestHex(chain_id) + "/diff";
}

absl::StatusOr<bool> ImageStore::AddLayer(
    const std::string& chain_id, const std::string& diff_id,
    const std::function<absl::StatusOr<UnpackResult>(int)>& unpack) {
  if (absl::Status s = ValidateDigest(chain_id); !s.ok()) return s;
  auto lock = LockDigest(chain_id);
  if (!lock.ok()) return lock.status();
  if (HasLayer(chain_id)) return false;
  std::string staging = tmp_ + "/layer-" + RandomName();
  if (absl::Status s = MakeDirs(staging + "/diff", 0755); !s.ok()) return s;
  auto cleanup = [&] { (void)RemoveAll(staging); };
  auto dir = OpenDir(staging + "/diff");
  if (!dir.ok()) return cleanup(), dir.status();
  auto result = unpack(dir->get());
  if (!result.ok()) return cleanup(), result.status();
  if (result->diff_id != diff_id) {
    cleanup();
    return absl::DataLossError(
        absl::StrCat("layer diff ID mismatch: expected ", diff_id, ", unpacked ", result->diff_id));
  }
  std::string meta = absl::StrCat("{\"chainId\":\"", chain_id, "\",\"diffId\":\"", diff_id,
                                  "\",\"size\":", result->tar_bytes, "}\n");
  if (absl::Status s = WriteFileAtomic(staging + "/layer.json", meta, tmp_); !s.ok()) {
    return cleanup(), s;
  }
  if (syncfs(dir->get()) != 0) return cleanup(), ErrnoStatus("syncfs", errno);
  std::string dest = root_ + "/layers/" + DigestHex(chain_id);
  cri::Failpoint("store:layer-staged");
  if (rename(staging.c_str(), dest.c_str()) != 0) {
    int err = errno;
    cleanup();
    if (err == EEXIST || err == ENOTEMPTY) return false;
    return ErrnoStatus("commit layer " + chain_id, err);
  }
  if (absl::Status s = SyncDir(root_ + "/layers"); !s.ok()) return s;
  cri::Failpoint("store:layer-committed");
  return true;
}

absl::StatusOr<ImageRecord> ImageStore::LoadRecord(const std::string& path) const {
  auto text = ReadFileBounded(path, kMaxRecordBytes);
  if (!text.ok()) return text.status();
  return DecodeImageRecord(*text);
}

absl::Status ImageStore::WriteRecord(const ImageRecord& image) {
  return WriteFileAtomic(root_ + "/images/" + DigestHex(image.id) + ".json",
                         EncodeImageRecord(image), tmp_);
}

std::vector<ImageRecord> ImageStore::List() const {
  std::vector<ImageRecord> out;
  for (const std::string& name : ListDir(root_ + "/images")) {
    if (!absl::EndsWith(name, ".json")) continue;
    auto rec = LoadRecord(root_ + "/images/" + name);
    if (rec.ok()) out.push_back(*std::move(rec));
  }
  std::sort(out.begin(), out.end(),
            [](const ImageRecord& a, const ImageRecord& b) { return a.id < b.id; });
  return out;
}

absl::Status ImageStore::PutImage(const ImageRecord& image) {
  if (absl::Status s = ValidateDigest(image.id); !s.ok()) return s;
  auto lock = FileLock::Acquire(root_ + "/locks/records.lock");
  if (!lock.ok()) return lock.status();
  std::vector<ImageRecord> all = List();
  ImageRecord merged = image;
  for (const ImageRecord& same : all) {
    if (same.id != image.id) continue;
    for (const auto& t : same.repo_tags) AddUnique(merged.repo_tags, t);
    for (const auto& d : same.repo_digests) AddUnique(merged.repo_digests, d);
  }
  // The new record first, then its tags leave their old images: a crash in
  // between leaves a tag on two records, which the next Open repairs in
  // favour of the newer one. (The other order could lose the tag.)
  if (absl::Status s = WriteRecord(merged); !s.ok()) return s;
  cri::Failpoint("store:record-written");
  for (ImageRecord& other : all) {
    if (other.id == image.id) continue;
    size_t before = other.repo_tags.size();
    std::erase_if(other.repo_tags,
                  [&](const std::string& t) { return Contains(image.repo_tags, t); });
    if (other.repo_tags.size() == before) continue;
    if (absl::Status s = WriteRecord(other); !s.ok()) return s;  // the tag moved away
  }
  return absl::OkStatus();
}

// A tag on more than one record (a PutImage cut short) stays on the most
// recently written record only.
absl::Status ImageStore::RepairTags() {
  auto lock = FileLock::Acquire(root_ + "/locks/records.lock");
  if (!lock.ok()) return lock.status();
  struct Dated {
    struct timespec mtime;
    ImageRecord record;
  };
  std::vector<Dated> records;
  for (const std::string& name : ListDir(root_ + "/images")) {
    std::string path = root_ + "/images/" + name;
    struct stat st;
    if (!absl::EndsWith(name, ".json") || stat(path.c_str(), &st) != 0) continue;
    auto rec = LoadRecord(path);
    if (rec.ok()) records.push_back({st.st_mtim, *std::move(rec)});
  }
  std::sort(records.begin(), records.end(), [](const Dated& a, const Dated& b) {
    return std::tie(a.mtime.tv_sec, a.mtime.tv_nsec) > std::tie(b.mtime.tv_sec, b.mtime.tv_nsec);
  });
  std::set<std::string> seen;
  for (Dated& d : records) {
    size_t before = d.record.repo_tags.size();
    std::erase_if(d.record.repo_tags, [&](const std::string& t) { return seen.count(t) > 0; });
    for (const std::string& t : d.record.repo_tags) seen.insert(t);
    if (d.record.repo_tags.size() == before) continue;
    if (absl::Status s = WriteRecord(d.record); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<ImageConfig> ImageStore::Config(const ImageRecord& image) const {
  absl::StatusOr<std::string> body = blobs_.Read(image.config_digest, kMaxDocumentBytes);
  if (!body.ok()) return body.status();
  absl::StatusOr<ImageConfig> config = ParseImageConfig(*body);
  if (!config.ok()) {
    return absl::DataLossError(
        absl::StrCat("config of image ", image.id, ": ", config.status().message()));
  }
  return config;
}

absl::StatusOr<ImageRecord> ImageStore::Resolve(const std::string& ref) const {
  std::vector<ImageRecord> all = List();
  std::string hex = absl::StartsWith(ref, "sha256:") ? ref.substr(7) : ref;
  if (IsHex(hex) && hex.size() >= 12) {
    const ImageRecord* found = nullptr;
    for (const auto& im : all) {
      if (!absl::StartsWith(DigestHex(im.id), hex)) continue;
      if (found != nullptr) return absl::InvalidArgumentError("ambiguous image id " + ref);
      found = &im;
    }
    if (found != nullptr) return *found;
    if (hex.size() == 64) return absl::NotFoundError("image " + ref + " not found");
  }
  auto parsed = ParseReference(ref);
  if (!parsed.ok()) return absl::NotFoundError("image " + ref + " not found");
  for (const auto& im : all) {
    if (!parsed->digest.empty()) {
      if (Contains(im.repo_digests, parsed->DigestRef(parsed->digest))) return im;
    } else if (Contains(im.repo_tags, parsed->TagRef())) {
      return im;
    }
  }
  return absl::NotFoundError("image " + ref + " not found");
}

std::vector<std::string> ImageStore::ContainerImages() const {
  std::vector<std::string> out;
  for (const std::string& id : ListDir(root_ + "/containers")) {
    auto text = ReadFileBounded(root_ + "/containers/" + id + "/image", 1024);
    if (text.ok()) out.push_back(*text);
  }
  return out;
}

absl::Status ImageStore::Remove(const std::string& ref) {
  auto store_lock = FileLock::Acquire(root_ + "/locks/store.lock");
  if (!store_lock.ok()) return store_lock.status();
  auto lock = FileLock::Acquire(root_ + "/locks/records.lock");
  if (!lock.ok()) return lock.status();
  auto image = Resolve(ref);
  if (!image.ok()) return image.status();
  if (Contains(ContainerImages(), image->id)) {
    return absl::FailedPreconditionError("image " + ref + " is in use by a container");
  }
  std::string path = root_ + "/images/" + DigestHex(image->id) + ".json";
  if (unlink(path.c_str()) != 0) return ErrnoStatus("remove " + path, errno);
  if (absl::Status s = SyncDir(root_ + "/images"); !s.ok()) return s;
  return CollectGarbage();
}

// Removes layers and blobs no image record refers to. Caller holds the
// exclusive store lock, so no pull is writing unreferenced content.
absl::Status ImageStore::CollectGarbage() {
  std::set<std::string> layers, blobs;
  for (const ImageRecord& im : List()) {
    for (const auto& c : im.chain_ids) layers.insert(DigestHex(c));
    for (const auto& d : im.layer_digests) blobs.insert(d);
    for (const auto* d : {&im.manifest_digest, &im.index_digest, &im.config_digest}) {
      if (!d->empty()) blobs.insert(*d);
    }
  }
  for (const std::string& name : ListDir(root_ + "/layers")) {
    if (layers.count(name)) continue;
    // Rename first so a crash never leaves a half-deleted layer in place.
    std::string doomed = tmp_ + "/gc-" + name;
    if (rename((root_ + "/layers/" + name).c_str(), doomed.c_str()) != 0) {
      return ErrnoStatus("remove layer " + name, errno);
    }
    if (absl::Status s = RemoveAll(doomed); !s.ok()) return s;
  }
  for (const std::string& digest : blobs_.List()) {
    if (blobs.count(digest)) continue;
    if (absl::Status s = blobs_.Remove(digest); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::StatusOr<FsUsage> ImageStore::Usage() const {
  FsUsage total;
  for (const char* sub : {"/blobs", "/layers", "/images"}) {
    auto du = MeasureTree(root_ + sub);
    if (!du.ok()) return du.status();
    total.bytes += du->bytes;
    total.inodes += du->inodes;
  }
  return total;
}

}  // namespace peapod::images
