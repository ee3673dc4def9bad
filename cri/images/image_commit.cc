#include "cri/images/image_commit.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <semaphore>
#include <thread>

#include "absl/strings/str_cat.h"
#include "cri/images/unpack.h"
#include "cri/util/failpoint.h"

namespace peapod::images {
namespace {

absl::Status SendAll(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) return ErrnoStatus("layer stream", errno);
    p += w;
    n -= w;
  }
  return absl::OkStatus();
}

// Downloads a layer blob on one thread while another unpacks it: bytes go to
// the blob writer (hash + file) and through a socket pair to the unpacker.
// The blob is kept only when it matches its digest and size and unpacked
// cleanly to `diff_id`.
absl::StatusOr<UnpackResult> StreamAndUnpack(ImageStore& store, const Descriptor& layer,
                                             const std::string& diff_id, const BlobFetcher& fetch,
                                             int dir_fd) {
  auto writer = store.blobs().Writer(layer.digest, layer.size);
  if (!writer.ok()) return writer.status();
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
    return ErrnoStatus("socketpair", errno);
  }
  UniqueFd rd(sv[0]), wr(sv[1]);
  int buf = 4 << 20;
  setsockopt(wr.get(), SOL_SOCKET, SO_SNDBUF, &buf, sizeof buf);
  std::atomic<bool> unpack_failed = false;
  absl::Status fetched;
  std::thread downloader([&] {
    fetched = fetch(layer, [&](const char* d, size_t n) {
      if (absl::Status s = writer->Write(d, n); !s.ok()) return s;
      absl::Status s = SendAll(wr.get(), d, n);
      if (!s.ok() && unpack_failed) return absl::CancelledError("unpacking stopped");
      return s;
    });
    wr.Reset();
  });
  auto result = UnpackLayer(rd.get(), dir_fd);
  if (result.ok()) {  // drain what the unpacker did not need, so the hash covers it all
    char sink[65536];
    while (read(rd.get(), sink, sizeof sink) > 0) {
    }
  } else {
    unpack_failed = true;
  }
  rd.Reset();  // unblocks the downloader if unpacking failed early
  downloader.join();
  // A download that failed on its own (network, too many bytes) is the
  // cause of whatever the unpacker saw; one cut short because unpacking
  // failed is not, and the unpacker's error says why.
  if (!fetched.ok() && !(unpack_failed && absl::IsCancelled(fetched))) return fetched;
  if (!result.ok()) return result;
  if (absl::Status s = writer->Verify(); !s.ok()) return s;
  if (result->diff_id != diff_id) {
    return absl::DataLossError(
        absl::StrCat("layer diff ID mismatch: expected ", diff_id, ", unpacked ", result->diff_id));
  }
  if (absl::Status s = writer->Commit(); !s.ok()) return s;
  cri::Failpoint("pull:layer-blob-committed");
  return result;
}

absl::StatusOr<UnpackResult> UnpackStoredBlob(ImageStore& store, const Descriptor& layer,
                                              int dir_fd) {
  UniqueFd in(open(store.blobs().Path(layer.digest).c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoStatus("open blob " + layer.digest, errno);
  return UnpackLayer(in.get(), dir_fd);
}

absl::Status AddOneLayer(ImageStore& store, const Descriptor& layer, const std::string& diff_id,
                         const std::string& chain_id, const BlobFetcher& fetch) {
  if (store.HasLayer(chain_id)) return absl::OkStatus();
  auto added = store.AddLayer(chain_id, diff_id, [&](int dir_fd) {
    if (store.blobs().Has(layer.digest)) return UnpackStoredBlob(store, layer, dir_fd);
    return StreamAndUnpack(store, layer, diff_id, fetch, dir_fd);
  });
  if (!added.ok()) {
    return absl::Status(added.status().code(),
                        absl::StrCat("layer ", layer.digest, ": ", added.status().message()));
  }
  return absl::OkStatus();
}

absl::Status AddLayers(ImageStore& store, const Manifest& m,
                       const std::vector<std::string>& diff_ids,
                       const std::vector<std::string>& chain_ids, const BlobFetcher& fetch,
                       int parallel) {
  std::counting_semaphore<64> slots(std::clamp(parallel, 1, 64));
  std::vector<absl::Status> results(m.layers.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < m.layers.size(); ++i) {
    threads.emplace_back([&, i] {
      slots.acquire();
      results[i] = AddOneLayer(store, m.layers[i], diff_ids[i], chain_ids[i], fetch);
      slots.release();
    });
  }
  for (auto& t : threads) t.join();
  for (const absl::Status& s : results) {
    if (!s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ImageRecord> CommitImage(ImageStore& store, const CommitRequest& req,
                                        const BlobFetcher& fetch) {
  const Manifest& m = req.manifest;
  // 1. The config: verified and parsed.
  if (DigestOf(req.config_body) != m.config.digest) {
    return absl::DataLossError("config digest mismatch: " + m.config.digest);
  }
  auto config = ParseImageConfig(req.config_body);
  if (!config.ok()) return config.status();
  if (config->diff_ids.size() != m.layers.size()) {
    return absl::InvalidArgumentError(absl::StrCat("manifest has ", m.layers.size(),
                                                   " layers, config ", config->diff_ids.size()));
  }
  // 2. Layers, by chain ID.
  std::vector<std::string> chain_ids;
  for (const std::string& diff_id : config->diff_ids) {
    chain_ids.push_back(ChainId(chain_ids.empty() ? "" : chain_ids.back(), diff_id));
  }
  if (absl::Status s = AddLayers(store, m, config->diff_ids, chain_ids, fetch, req.parallel_layers);
      !s.ok()) {
    return s;
  }
  cri::Failpoint("pull:layers-committed");
  // 3. The documents, only now: a pull that failed above keeps none.
  for (const auto& [digest, body] : req.documents) {
    if (absl::Status s = store.blobs().Put(digest, body); !s.ok()) return s;
  }
  if (!store.blobs().Has(m.config.digest)) {
    if (absl::Status s = store.blobs().Put(m.config.digest, req.config_body); !s.ok()) return s;
  }
  cri::Failpoint("pull:manifest-stored");
  // 4. The record.
  ImageRecord im;
  im.id = im.config_digest = m.config.digest;
  im.repo_tags = req.repo_tags;
  im.repo_digests = req.repo_digests;
  im.manifest_digest = req.manifest_digest;
  im.index_digest = req.index_digest;
  im.diff_ids = config->diff_ids;
  im.chain_ids = chain_ids;
  im.user = config->user;
  im.size = m.config.size;
  for (const Descriptor& l : m.layers) {
    im.layer_digests.push_back(l.digest);
    im.size += l.size;
  }
  if (absl::Status s = store.PutImage(im); !s.ok()) return s;
  return store.Resolve(im.id);
}

}  // namespace peapod::images
