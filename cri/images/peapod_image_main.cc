// peapod-image: drives the image store until peapodd exists.
//   peapod-image [--root DIR] [--config peapod.toml] <verb> args...
//   verbs: pull REF [--user U --password P] | list | inspect REF | rm REF |
//          import DIR|TAR [--name N] | mount CONTAINER REF | umount CONTAINER | df
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "cri/images/fs_util.h"
#include "cri/images/image_store.h"
#include "cri/images/importer.h"
#include "cri/images/puller.h"
#include "cri/images/registry_config.h"

namespace peapod::images {
namespace {

struct Cli {
  std::string root = "/var/lib/peapod";
  std::string config_path;
  std::vector<std::string> args;
  std::map<std::string, std::string> flags;
};

int Fail(const absl::Status& s) {
  fprintf(stderr, "peapod-image: %s\n", s.ToString().c_str());
  return 1;
}

std::string Join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

int Pull(ImageStore& store, const Cli& cli) {
  RegistryConfig config;
  if (!cli.config_path.empty()) {
    auto text = ReadFileBounded(cli.config_path, 1 << 20);
    if (!text.ok()) return Fail(text.status());
    auto parsed = ParseRegistryConfigFromFile(*text);
    if (!parsed.ok()) return Fail(parsed.status());
    config = *std::move(parsed);
  }
  PullOptions opts;
  if (auto it = cli.flags.find("user"); it != cli.flags.end()) opts.auth.username = it->second;
  if (auto it = cli.flags.find("password"); it != cli.flags.end()) opts.auth.password = it->second;
  Puller puller(store, config);
  auto im = puller.Pull(cli.args.at(1), opts);
  if (!im.ok()) return Fail(im.status());
  printf("%s\n", im->id.c_str());
  return 0;
}

int Dispatch(ImageStore& store, const Cli& cli) {
  const std::string& verb = cli.args[0];
  auto need = [&](size_t n) { return cli.args.size() >= n + 1; };
  if (verb == "pull" && need(1)) return Pull(store, cli);
  if (verb == "list") {
    for (const ImageRecord& im : store.List()) {
      printf("%s\t%s\t%s\t%llu\n", im.id.c_str(), Join(im.repo_tags).c_str(),
             Join(im.repo_digests).c_str(), static_cast<unsigned long long>(im.size));
    }
    return 0;
  }
  if (verb == "inspect" && need(1)) {
    auto im = store.Resolve(cli.args[1]);
    if (!im.ok()) return Fail(im.status());
    printf("%s", EncodeImageRecord(*im).c_str());
    return 0;
  }
  if (verb == "rm" && need(1)) {
    absl::Status s = store.Remove(cli.args[1]);
    return s.ok() ? 0 : Fail(s);
  }
  if (verb == "mount" && need(2)) {
    auto rootfs = store.Mount(cli.args[1], cli.args[2]);
    if (!rootfs.ok()) return Fail(rootfs.status());
    printf("%s\n", rootfs->c_str());
    return 0;
  }
  if (verb == "umount" && need(1)) {
    absl::Status s = store.Unmount(cli.args[1]);
    return s.ok() ? 0 : Fail(s);
  }
  if (verb == "import" && need(1)) {  // an OCI layout dir, else a docker-archive tar
    std::string name = cli.flags.count("name") ? cli.flags.at("name") : "";
    auto ims = std::filesystem::is_directory(cli.args[1])
                   ? ImportOciLayout(store, cli.args[1], name)
                   : ImportDockerArchive(store, cli.args[1]);
    if (!ims.ok()) return Fail(ims.status());
    for (const ImageRecord& im : *ims) printf("%s\n", im.id.c_str());
    return 0;
  }
  if (verb == "df") {
    auto u = store.Usage();
    if (!u.ok()) return Fail(u.status());
    printf("bytes %llu inodes %llu\n", static_cast<unsigned long long>(u->bytes),
           static_cast<unsigned long long>(u->inodes));
    return 0;
  }
  fprintf(
      stderr,
      "usage: peapod-image [--root DIR] [--config FILE] pull REF [--user U --password P] | "
      "list | inspect REF | rm REF | import DIR|TAR [--name N] | mount ID REF | umount ID | df\n");
  return 2;
}

}  // namespace
}  // namespace peapod::images

int main(int argc, char** argv) {
  peapod::images::Cli cli;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && i + 1 < argc) {
      std::string key = a.substr(2);
      if (key == "root") {
        cli.root = argv[++i];
      } else if (key == "config") {
        cli.config_path = argv[++i];
      } else {
        cli.flags[key] = argv[++i];
      }
    } else {
      cli.args.push_back(a);
    }
  }
  if (cli.args.empty()) cli.args.push_back("help");
  auto store = peapod::images::ImageStore::Open(cli.root);
  if (!store.ok()) return peapod::images::Fail(store.status());
  return peapod::images::Dispatch(**store, cli);
}
