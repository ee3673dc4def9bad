#include "cri/images/blob_store.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <random>

#include "absl/strings/str_cat.h"

namespace peapod::images {

BlobWriter::~BlobWriter() {
  if (!done_ && !tmp_.empty()) unlink(tmp_.c_str());
}

absl::Status BlobWriter::Write(const void* data, size_t len) {
  if (!got_.empty()) return absl::FailedPreconditionError("blob " + digest_ + " already verified");
  if (size_ >= 0 && hash_.size() + len > static_cast<uint64_t>(size_)) {
    return absl::OutOfRangeError(
        absl::StrCat("blob ", digest_, " is larger than its declared ", size_, " bytes"));
  }
  hash_.Update(data, len);
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = write(fd_.get(), p, len);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("write blob " + digest_, errno);
    p += n;
    len -= n;
  }
  return absl::OkStatus();
}

absl::Status BlobWriter::Verify() {
  if (got_.empty()) {
    got_size_ = hash_.size();
    got_ = hash_.Digest();
  }
  if (size_ >= 0 && got_size_ != static_cast<uint64_t>(size_)) {
    return absl::DataLossError(
        absl::StrCat("blob ", digest_, ": got ", got_size_, " bytes, expected ", size_));
  }
  if (got_ != digest_) {
    return absl::DataLossError(
        absl::StrCat("blob digest mismatch: expected ", digest_, ", got ", got_));
  }
  return absl::OkStatus();
}

absl::Status BlobWriter::Commit() {
  if (absl::Status s = Verify(); !s.ok()) return s;
  if (fsync(fd_.get()) != 0) return ErrnoStatus("fsync blob", errno);
  fd_.Reset();
  if (rename(tmp_.c_str(), dest_.c_str()) != 0) return ErrnoStatus("rename blob", errno);
  done_ = true;
  return SyncDir(dest_.substr(0, dest_.rfind('/')));
}

BlobStore::BlobStore(std::string root, std::string tmp_dir)
    : dir_(root + "/blobs/sha256"), tmp_dir_(std::move(tmp_dir)) {}

absl::Status BlobStore::Init() { return MakeDirs(dir_); }

std::string BlobStore::Path(const std::string& digest) const {
  return dir_ + "/" + DigestHex(digest);
}

bool BlobStore::Has(const std::string& digest) const {
  return ValidateDigest(digest).ok() && access(Path(digest).c_str(), F_OK) == 0;
}

absl::StatusOr<uint64_t> BlobStore::Size(const std::string& digest) const {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  struct stat st;
  if (stat(Path(digest).c_str(), &st) != 0) return ErrnoStatus("blob " + digest, errno);
  return static_cast<uint64_t>(st.st_size);
}

absl::StatusOr<BlobWriter> BlobStore::Writer(const std::string& digest, int64_t size) {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  static thread_local std::mt19937_64 rng(std::random_device{}());
  std::string tmp = absl::StrCat(tmp_dir_, "/blob-", DigestHex(digest).substr(0, 12), "-", rng());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return ErrnoStatus("create " + tmp, errno);
  return BlobWriter(digest, size, tmp, Path(digest), UniqueFd(fd));
}

absl::Status BlobStore::Put(const std::string& digest, std::string_view data) {
  auto w = Writer(digest, static_cast<int64_t>(data.size()));
  if (!w.ok()) return w.status();
  if (absl::Status s = w->Write(data.data(), data.size()); !s.ok()) return s;
  return w->Commit();
}

absl::StatusOr<std::string> BlobStore::Read(const std::string& digest, size_t max_bytes) const {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  auto data = ReadFileBounded(Path(digest), max_bytes);
  if (!data.ok()) return data.status();
  if (DigestOf(*data) != digest) return absl::DataLossError("stored blob corrupt: " + digest);
  return data;
}

absl::Status BlobStore::Remove(const std::string& digest) {
  if (absl::Status s = ValidateDigest(digest); !s.ok()) return s;
  if (unlink(Path(digest).c_str()) != 0 && errno != ENOENT) {
    return ErrnoStatus("remove blob " + digest, errno);
  }
  return absl::OkStatus();
}

std::vector<std::string> BlobStore::List() const {
  std::vector<std::string> out;
  DIR* d = opendir(dir_.c_str());
  if (d == nullptr) return out;
  while (struct dirent* e = readdir(d)) {
    std::string digest = absl::StrCat("sha256:", e->d_name);
    if (ValidateDigest(digest).ok()) out.push_back(digest);
  }
  closedir(d);
  return out;
}

}  // namespace peapod::images
