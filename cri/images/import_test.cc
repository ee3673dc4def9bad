#include "cri/images/importer.h"

#include <filesystem>
#include <fstream>
#include <map>

#include "cri/images/test_registry.h"
#include "gtest/gtest.h"

namespace peapod::images {
namespace {

using testing::Compression;
using testing::TarBuilder;
namespace fs = std::filesystem;

class ImportTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::MakeTempDir("peapod-import-test");
    auto s = ImageStore::Open(dir_ + "/store");
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  std::string dir_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImportTest, OciLayout) {
  TarBuilder t;
  t.Dir("etc").File("etc/hostname", "oci");
  testing::TestImage im =
      testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())}, "42");
  std::string layout = dir_ + "/layout";
  fs::create_directories(layout + "/blobs/sha256");
  im.blobs[im.digest] = im.manifest;
  for (const auto& [digest, data] : im.blobs) {
    std::ofstream(layout + "/blobs/sha256/" + DigestHex(digest), std::ios::binary) << data;
  }
  std::ofstream(layout + "/oci-layout") << "{\"imageLayoutVersion\":\"1.0.0\"}";
  std::ofstream(layout + "/index.json")
      << "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" << im.media_type
      << "\",\"digest\":\"" << im.digest << "\",\"size\":" << im.manifest.size()
      << ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"v1\"}}]}";
  auto got = ImportOciLayout(*store_, layout, "example.com/app");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, im.config_digest);
  EXPECT_EQ(store_->Resolve("example.com/app:v1")->user, "42");
  EXPECT_TRUE(store_->HasLayer((*got)[0].chain_ids[0]));
}

TEST_F(ImportTest, DockerArchive) {
  TarBuilder layer;
  layer.File("hello", "from docker save");
  std::string tar = layer.Build();
  std::string diff_id = DigestOf(tar);
  std::string config =
      "{\"config\":{\"User\":\"app\"},\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + diff_id +
      "\"]}}";
  TarBuilder archive;
  archive.File("abc/layer.tar", tar).File("cfg.json", config);
  archive.File("manifest.json",
               "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"saved:v2\"],"
               "\"Layers\":[\"abc/layer.tar\"]}]");
  std::string path = dir_ + "/archive.tar.gz";
  std::ofstream(path, std::ios::binary) << archive.Build(Compression::kGzip);
  auto got = ImportDockerArchive(*store_, path);
  ASSERT_TRUE(got.ok()) << got.status();
  auto im = store_->Resolve("saved:v2");
  ASSERT_TRUE(im.ok()) << im.status();
  EXPECT_EQ(im->id, DigestOf(config));
  EXPECT_EQ(im->diff_ids, std::vector<std::string>{diff_id});
  EXPECT_TRUE(fs::exists(store_->LayerDir(im->chain_ids[0]) + "/hello"));
  EXPECT_TRUE(fs::is_empty(store_->tmp_dir()));
}

// An OCI layout whose index.json names an image index: its linux/amd64
// entry is imported, the index digest recorded.
TEST_F(ImportTest, OciLayoutThroughAnImageIndex) {
  auto image = [](const std::string& arch) {
    TarBuilder t;
    t.File("arch", arch);
    return testing::BuildImage({t.Build(Compression::kGzip)}, {DigestOf(t.Build())}, "",
                               "application/vnd.oci.image.layer.v1.tar+gzip", arch);
  };
  testing::TestImage arm = image("arm64"), amd = image("amd64");
  testing::TestImage index = testing::BuildIndex({{"arm64", arm}, {"amd64", amd}});
  std::string layout = dir_ + "/layout";
  fs::create_directories(layout + "/blobs/sha256");
  for (const testing::TestImage* im : {&arm, &amd, &index}) {
    std::map<std::string, std::string> blobs = im->blobs;
    blobs[im->digest] = im->manifest;
    for (const auto& [digest, data] : blobs) {
      std::ofstream(layout + "/blobs/sha256/" + DigestHex(digest), std::ios::binary) << data;
    }
  }
  std::ofstream(layout + "/oci-layout") << "{\"imageLayoutVersion\":\"1.0.0\"}";
  std::ofstream(layout + "/index.json")
      << "{\"schemaVersion\":2,\"manifests\":[{\"mediaType\":\"" << index.media_type
      << "\",\"digest\":\"" << index.digest << "\",\"size\":" << index.manifest.size()
      << ",\"annotations\":{\"org.opencontainers.image.ref.name\":\"example.com/multi:v1\"}}]}";
  auto got = ImportOciLayout(*store_, layout);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 1u);
  EXPECT_EQ((*got)[0].id, amd.config_digest);
  EXPECT_EQ((*got)[0].index_digest, index.digest);
  EXPECT_EQ((*got)[0].manifest_digest, amd.digest);
  EXPECT_EQ(store_->Resolve("example.com/multi:v1")->id, amd.config_digest);
  EXPECT_FALSE(store_->blobs().Has(arm.config_digest));
}

// `docker save` links a layer that occurs twice to its first copy
// ("def/layer.tar" → "../abc/layer.tar"): the link resolves inside the
// archive.
TEST_F(ImportTest, DockerArchiveWithLinkedDuplicateLayer) {
  TarBuilder layer;
  layer.Dir("etc").File("etc/twice", "same");
  std::string tar = layer.Build();
  std::string diff_id = DigestOf(tar);
  std::string config =
      "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + diff_id + "\",\"" + diff_id + "\"]}}";
  TarBuilder archive;
  archive.Dir("abc")
      .File("abc/layer.tar", tar)
      .Dir("def")
      .Symlink("def/layer.tar", "../abc/layer.tar");
  archive.File("cfg.json", config)
      .File("manifest.json",
            "[{\"Config\":\"cfg.json\",\"RepoTags\":[\"twice:v1\"],"
            "\"Layers\":[\"abc/layer.tar\",\"def/layer.tar\"]}]");
  std::string path = dir_ + "/twice.tar";
  std::ofstream(path, std::ios::binary) << archive.Build();
  auto got = ImportDockerArchive(*store_, path);
  ASSERT_TRUE(got.ok()) << got.status();
  auto im = store_->Resolve("twice:v1");
  ASSERT_TRUE(im.ok()) << im.status();
  ASSERT_EQ(im->chain_ids.size(), 2u);
  EXPECT_TRUE(fs::exists(store_->LayerDir(im->chain_ids[1]) + "/etc/twice"));
}

// manifest.json may name only files inside the archive: "../" paths,
// absolute paths and symlinks the archive planted (absolute or climbing
// out) all stay inside, where the host's file is not found.
TEST_F(ImportTest, DockerArchiveCannotReadHostFiles) {
  // A valid layer and config outside the archive, which an escape would import.
  TarBuilder layer;
  layer.File("host-secret", "from the host");
  std::string tar = layer.Build();
  std::string outside = dir_ + "/outside";
  fs::create_directories(outside);
  std::ofstream(outside + "/layer.tar", std::ios::binary) << tar;
  std::string config =
      "{\"rootfs\":{\"type\":\"layers\",\"diff_ids\":[\"" + DigestOf(tar) + "\"]}}";
  std::ofstream(outside + "/cfg.json") << config;
  std::string up = "../../../../../../../../../../../..";
  struct Case {
    std::string config, layer;
    std::vector<std::pair<std::string, std::string>> symlinks;
  };
  std::vector<Case> cases = {
      {"cfg.json", up + outside + "/layer.tar", {}},
      {"cfg.json", outside + "/layer.tar", {}},
      {"cfg.json", "evil.tar", {{"evil.tar", outside + "/layer.tar"}}},
      {"cfg.json", "evil.tar", {{"evil.tar", up + outside + "/layer.tar"}}},
      {"cfg.json", "u" + outside + "/layer.tar", {{"u", up}}},
      {up + outside + "/cfg.json", "layer.tar", {}},
      {"c.json", "layer.tar", {{"c.json", outside + "/cfg.json"}}},
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    TarBuilder archive;
    archive.File("cfg.json", config).File("layer.tar", TarBuilder().File("inside", "x").Build());
    for (const auto& [link, target] : cases[i].symlinks) archive.Symlink(link, target);
    archive.File("manifest.json", "[{\"Config\":\"" + cases[i].config +
                                      "\",\"RepoTags\":[\"escape:v1\"],\"Layers\":[\"" +
                                      cases[i].layer + "\"]}]");
    std::string path = dir_ + "/escape.tar";
    std::ofstream(path, std::ios::binary | std::ios::trunc) << archive.Build();
    auto got = ImportDockerArchive(*store_, path);
    EXPECT_EQ(got.status().code(), absl::StatusCode::kNotFound) << got.status();
    EXPECT_TRUE(store_->List().empty());
    EXPECT_TRUE(fs::is_empty(store_->tmp_dir()));
  }
}

}  // namespace
}  // namespace peapod::images
