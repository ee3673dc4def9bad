// Fuzz target: any bytes as an image layer through UnpackLayer (a registry
// serves layers; their tar entries are the attacker's). Each input unpacks
// into a new layer dir inside a new scratch dir that also holds a file
// `outside`. Whatever the archive holds ("../x", "/x", symlinks planted to
// lead out, hardlinks to outside files), afterwards the scratch dir holds
// just `layer` and `outside`, `outside` is unchanged, and nothing was made
// at the absolute paths the seeds aim at. Needs root (device nodes,
// ownership, trusted.* xattrs), as peapodd does.
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <set>
#include <string>

#include "cri/images/unpack.h"

namespace {

namespace fs = std::filesystem;

// Absolute paths the seed archives try to reach (fuzz_corpus/).
constexpr const char* kTargets[] = {"/tmp/peapod-fuzz-escape", "/tmp/peapod-fuzz-escape-dir"};
constexpr const char kOutside[] = "not to be changed\n";

void Check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "unpack_fuzz: %s\n", what);
    std::abort();
  }
}

std::string Read(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  char tmpl[] = "/tmp/peapod-unpack-fuzz-XXXXXX";
  Check(mkdtemp(tmpl) != nullptr, "mkdtemp");
  const fs::path scratch = tmpl;
  std::ofstream(scratch / "outside") << kOutside;
  fs::create_directory(scratch / "layer");
  int in = memfd_create("layer", MFD_CLOEXEC);
  Check(in >= 0, "memfd_create");
  Check(size == 0 || write(in, data, size) == static_cast<ssize_t>(size), "write");
  lseek(in, 0, SEEK_SET);
  int dir = open((scratch / "layer").c_str(), O_DIRECTORY | O_RDONLY | O_CLOEXEC);
  Check(dir >= 0, "open layer");
  (void)peapod::images::UnpackLayer(in, dir);
  close(dir);
  close(in);

  std::set<std::string> names;
  for (const fs::directory_entry& e : fs::directory_iterator(scratch)) {
    names.insert(e.path().filename());
  }
  Check(names == std::set<std::string>{"layer", "outside"}, "something was made beside the layer");
  Check(fs::is_regular_file(fs::symlink_status(scratch / "outside")), "outside was replaced");
  Check(Read(scratch / "outside") == kOutside, "outside was written");
  Check(fs::hard_link_count(scratch / "outside") == 1, "outside was hard-linked into the layer");
  for (const char* t : kTargets) {
    std::error_code ec;
    Check(!fs::exists(fs::symlink_status(t, ec)), "an absolute path outside was made");
  }
  std::error_code ec;
  fs::remove_all(scratch, ec);
  return 0;
}
