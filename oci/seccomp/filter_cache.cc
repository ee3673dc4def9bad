// Filter::BuildCached: compiling a multi-arch profile with libseccomp costs
// tens of milliseconds, and most containers share one profile, so compiled
// programs are kept in a root-only directory. Each file holds the profile it
// was compiled from, so a hash collision is detected, not trusted.
#include <fcntl.h>
#include <seccomp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "oci/linux/unique_fd.h"
#include "oci/seccomp/filter.h"

namespace peapod::seccomp {
namespace {

constexpr char kMagic[] = "peapod-bpf-1\n";

using Fd = linux::UniqueFd;

// What the compiled program depends on: the profile, libseccomp's version
// and the kernel API level it detected.
std::string CacheKey(const oci::Seccomp& config) {
  const scmp_version* v = seccomp_version();
  return absl::StrCat("libseccomp ", v->major, ".", v->minor, ".", v->micro, " api ",
                      seccomp_api_get(), " arch ", seccomp_arch_native(), "\n",
                      oci::SerializeSeccomp(config));
}

uint64_t Fnv1a(const std::string& s) {
  uint64_t h = 14695981039346656037ull;
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ull;
  return h;
}

// Only a directory owned by us and writable by nobody else may feed
// programs into containers.
bool TrustedDir(const std::string& dir) {
  if (mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return false;
  struct stat st;
  return lstat(dir.c_str(), &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
         (st.st_mode & 022) == 0;
}

std::string Encode(const std::string& key, const Filter& f, const std::vector<sock_filter>& prog) {
  std::string out = kMagic;
  auto put32 = [&out](uint32_t v) { out.append(reinterpret_cast<const char*>(&v), sizeof(v)); };
  put32(f.flags());
  put32(static_cast<uint32_t>(key.size()));
  out += key;
  put32(static_cast<uint32_t>(prog.size()));
  out.append(reinterpret_cast<const char*>(prog.data()), prog.size() * sizeof(sock_filter));
  return out;
}

// Parses a cache file; false unless it is well formed and made for `key`.
bool Decode(const std::string& data, const std::string& key, unsigned* flags,
            std::vector<sock_filter>* prog) {
  size_t pos = 0;
  auto take = [&](void* dst, size_t n) {
    if (data.size() - pos < n) return false;
    memcpy(dst, data.data() + pos, n);
    pos += n;
    return true;
  };
  std::string magic(sizeof(kMagic) - 1, '\0');
  uint32_t f = 0, key_len = 0, n = 0;
  if (!take(magic.data(), magic.size()) || magic != kMagic) return false;
  if (!take(&f, 4) || !take(&key_len, 4) || key_len != key.size()) return false;
  if (data.compare(pos, key_len, key) != 0) return false;
  pos += key_len;
  if (!take(&n, 4) || n == 0 || n > BPF_MAXINSNS) return false;
  prog->resize(n);
  if (!take(prog->data(), n * sizeof(sock_filter)) || pos != data.size()) return false;
  *flags = f;
  return true;
}

bool ReadFile(const std::string& path, std::string* out) {
  Fd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (fd.get() < 0) return false;
  char buf[16384];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof(buf));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return false;
    if (n == 0) return true;
    out->append(buf, static_cast<size_t>(n));
    if (out->size() > (1u << 20)) return false;
  }
}

// Best effort: a failed write only costs the next caller a compile.
void WriteFileAtomic(const std::string& path, const std::string& data) {
  std::string tmp = absl::StrCat(path, ".tmp.", getpid());
  Fd fd(open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600));
  if (fd.get() < 0) return;
  bool ok = write(fd.get(), data.data(), data.size()) == static_cast<ssize_t>(data.size());
  if (ok && rename(tmp.c_str(), path.c_str()) == 0) return;
  unlink(tmp.c_str());
}

}  // namespace

absl::StatusOr<Filter> Filter::BuildCached(const oci::Seccomp& config,
                                           const std::string& cache_dir) {
  if (!TrustedDir(cache_dir)) return Build(config);
  const std::string key = CacheKey(config);
  const std::string path = absl::StrFormat("%s/%016x.bpf", cache_dir, Fnv1a(key));
  std::string data;
  Filter cached;
  if (ReadFile(path, &data) && Decode(data, key, &cached.flags_, &cached.program_)) {
    return cached;
  }
  absl::StatusOr<Filter> built = Build(config);
  if (built.ok()) WriteFileAtomic(path, Encode(key, *built, built->program_));
  return built;
}

}  // namespace peapod::seccomp
