#include "cri/images/importer.h"

#include <filesystem>
#include <fstream>

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

}  // namespace
}  // namespace peapod::images
