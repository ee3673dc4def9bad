#include "cri/images/image_store.h"

#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "cri/images/test_tar.h"
#include "gtest/gtest.h"

namespace peapod::images {
namespace {

using testing::TarBuilder;
namespace fs = std::filesystem;

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class ImageStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = testing::MakeTempDir("peapod-store-test");
    auto s = ImageStore::Open(root_);
    ASSERT_TRUE(s.ok()) << s.status();
    store_ = *std::move(s);
  }
  void TearDown() override {
    for (const char* id : {"c1", "c2"}) (void)store_->Unmount(id);
    store_.reset();
    fs::remove_all(root_);
  }

  // Adds layers (as tars) and a record tagged `tag`; returns the record.
  ImageRecord MakeImage(const std::vector<std::string>& tars, const std::string& tag,
                        const std::string& config = "{}") {
    ImageRecord im;
    std::string chain;
    for (const std::string& tar : tars) {
      std::string diff_id = DigestOf(tar);
      chain = ChainId(chain, diff_id);
      auto added = store_->AddLayer(chain, diff_id, [&](int dir) {
        UniqueFd in(testing::TempFdWith(tar));
        return UnpackLayer(in.get(), dir);
      });
      EXPECT_TRUE(added.ok()) << added.status();
      EXPECT_TRUE(store_->blobs().Put(DigestOf(tar), tar).ok());
      im.layer_digests.push_back(DigestOf(tar));
      im.diff_ids.push_back(diff_id);
      im.chain_ids.push_back(chain);
      im.size += tar.size();
    }
    im.config_digest = im.id = DigestOf(config);
    EXPECT_TRUE(store_->blobs().Put(im.id, config).ok());
    im.repo_tags = {"docker.io/library/" + tag};
    im.manifest_digest = DigestOf(tag);
    im.repo_digests = {"docker.io/library/" + tag.substr(0, tag.find(':')) + "@" +
                       im.manifest_digest};
    EXPECT_TRUE(store_->PutImage(im).ok());
    return im;
  }

  std::string root_;
  std::unique_ptr<ImageStore> store_;
};

TEST_F(ImageStoreTest, BlobMismatchKeepsNothing) {
  std::string digest = DigestOf("right");
  EXPECT_EQ(store_->blobs().Put(digest, "wrong").code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(store_->blobs().Has(digest));
  {
    auto w = store_->blobs().Writer(digest, 3);
    ASSERT_TRUE(w.ok());
    EXPECT_EQ(w->Write("right", 5).code(), absl::StatusCode::kOutOfRange);
  }
  EXPECT_TRUE(store_->blobs().Put(digest, "right").ok());
  EXPECT_EQ(*store_->blobs().Read(digest, 100), "right");
  EXPECT_TRUE(fs::is_empty(store_->tmp_dir()));
}

TEST_F(ImageStoreTest, ResolveByTagDigestAndId) {
  TarBuilder base;
  base.Dir("bin").File("bin/a", "a");
  ImageRecord im = MakeImage({base.Build()}, "busybox:latest");
  EXPECT_EQ(store_->Resolve("busybox")->id, im.id);
  EXPECT_EQ(store_->Resolve("docker.io/library/busybox:latest")->id, im.id);
  EXPECT_EQ(store_->Resolve(im.id)->id, im.id);
  EXPECT_EQ(store_->Resolve(DigestHex(im.id).substr(0, 12))->id, im.id);
  EXPECT_EQ(store_->Resolve("busybox@" + im.manifest_digest)->id, im.id);
  EXPECT_EQ(store_->Resolve("busybox:other").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Resolve("alpine").status().code(), absl::StatusCode::kNotFound);
}

TEST_F(ImageStoreTest, TagMovesToNewImage) {
  TarBuilder a, b;
  a.File("a", "1");
  b.File("b", "2");
  ImageRecord first = MakeImage({a.Build()}, "app:v1", "{\"a\":1}");
  ImageRecord second = MakeImage({b.Build()}, "app:v1", "{\"a\":2}");
  EXPECT_EQ(store_->Resolve("app:v1")->id, second.id);
  EXPECT_TRUE(store_->Resolve(first.id)->repo_tags.empty());
  EXPECT_EQ(store_->List().size(), 2u);
}

TEST_F(ImageStoreTest, OverlayMountAppliesWhiteoutsAndRemoveCollects) {
  TarBuilder base, top;
  base.Dir("etc").File("etc/passwd", "root").File("etc/gone", "x").Dir("var").File("var/old", "o");
  top.Dir("etc").File("etc/.wh.gone", "").Dir("var").File("var/.wh..wh..opq", "");
  top.File("var/new", "n");
  std::string base_tar = base.Build(), top_tar = top.Build();
  ImageRecord im = MakeImage({base_tar, top_tar}, "app:v1");
  ImageRecord other = MakeImage({base_tar}, "base:v1", "{\"b\":1}");

  auto rootfs = store_->Mount("c1", "app:v1");
  ASSERT_TRUE(rootfs.ok()) << rootfs.status();
  EXPECT_EQ(ReadAll(*rootfs + "/etc/passwd"), "root");
  EXPECT_FALSE(fs::exists(*rootfs + "/etc/gone"));
  EXPECT_FALSE(fs::exists(*rootfs + "/var/old"));
  EXPECT_EQ(ReadAll(*rootfs + "/var/new"), "n");
  std::ofstream(*rootfs + "/written") << "w";
  EXPECT_TRUE(fs::exists(root_ + "/containers/c1/upper/written"));
  EXPECT_FALSE(fs::exists(store_->LayerDir(im.chain_ids[1]) + "/written"));
  EXPECT_EQ(*store_->Mount("c1", "app:v1"), *rootfs);  // idempotent

  EXPECT_EQ(store_->Remove("app:v1").code(), absl::StatusCode::kFailedPrecondition);
  ASSERT_TRUE(store_->Unmount("c1").ok());
  EXPECT_FALSE(fs::exists(root_ + "/containers/c1"));
  ASSERT_TRUE(store_->Remove("app:v1").ok());
  EXPECT_EQ(store_->Resolve("app:v1").status().code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(store_->HasLayer(im.chain_ids[1]));
  EXPECT_TRUE(store_->HasLayer(im.chain_ids[0]));  // shared with base:v1
  EXPECT_FALSE(store_->blobs().Has(im.layer_digests[1]));
  EXPECT_TRUE(store_->blobs().Has(im.layer_digests[0]));
  ASSERT_TRUE(store_->Remove(other.id).ok());
  EXPECT_FALSE(store_->HasLayer(im.chain_ids[0]));
  EXPECT_TRUE(store_->blobs().List().empty());
}

TEST_F(ImageStoreTest, ConcurrentAddLayerUnpacksOnce) {
  TarBuilder t;
  t.File("big", std::string(4 << 20, 'q'));
  std::string tar = t.Build();
  std::string diff_id = DigestOf(tar);
  std::atomic<int> unpacks = 0;
  auto work = [&] {
    auto second = ImageStore::Open(root_);  // like another process
    ASSERT_TRUE(second.ok());
    auto r = (*second)->AddLayer(diff_id, diff_id, [&](int dir) {
      ++unpacks;
      UniqueFd in(testing::TempFdWith(tar));
      return UnpackLayer(in.get(), dir);
    });
    EXPECT_TRUE(r.ok()) << r.status();
  };
  std::thread a(work), b(work);
  a.join();
  b.join();
  EXPECT_EQ(unpacks.load(), 1);
  EXPECT_TRUE(store_->HasLayer(diff_id));
}

TEST_F(ImageStoreTest, WrongDiffIdKeepsNothing) {
  TarBuilder t;
  t.File("a", "a");
  std::string tar = t.Build();
  std::string wrong = DigestOf("not it");
  auto r = store_->AddLayer(wrong, wrong, [&](int dir) {
    UniqueFd in(testing::TempFdWith(tar));
    return UnpackLayer(in.get(), dir);
  });
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_FALSE(store_->HasLayer(wrong));
  EXPECT_TRUE(fs::is_empty(store_->tmp_dir()));
}

TEST_F(ImageStoreTest, OpenRemovesDeadSessionsOnly) {
  fs::create_directories(root_ + "/tmp/dead-1/junk");
  std::ofstream(root_ + "/tmp/dead-1.lock") << "";
  auto second = ImageStore::Open(root_);
  ASSERT_TRUE(second.ok());
  EXPECT_FALSE(fs::exists(root_ + "/tmp/dead-1"));
  EXPECT_TRUE(fs::exists(store_->tmp_dir()));  // the live session stays
}

TEST_F(ImageStoreTest, UsageCountsBytesAndInodes) {
  auto before = store_->Usage();
  TarBuilder t;
  t.File("f", std::string(1 << 20, 'x'));
  MakeImage({t.Build()}, "u:1");
  auto after = store_->Usage();
  ASSERT_TRUE(after.ok());
  EXPECT_GE(after->bytes, before->bytes + (2 << 20));
  EXPECT_GT(after->inodes, before->inodes + 3);
}

TEST(ImageUserTest, SplitsUidAndName) {
  EXPECT_EQ(ParseImageUser("1000:1000").uid, 1000);
  EXPECT_EQ(ParseImageUser("app:grp").username, "app");
  EXPECT_FALSE(ParseImageUser("app").uid.has_value());
  EXPECT_FALSE(ParseImageUser("").uid.has_value());
}

TEST(ImageConfigTest, ContainerDefaults) {
  absl::StatusOr<ImageConfig> c = ParseImageConfig(R"({
    "rootfs": {"type": "layers", "diff_ids": []},
    "config": {"User": "app", "Entrypoint": ["/bin/sh", "-c"], "Cmd": null,
               "Env": ["PATH=/bin", "A=b=c"], "WorkingDir": "/srv", "StopSignal": "SIGQUIT"}})");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->user, "app");
  EXPECT_EQ(c->entrypoint, (std::vector<std::string>{"/bin/sh", "-c"}));
  EXPECT_TRUE(c->cmd.empty());
  EXPECT_EQ(c->env, (std::vector<std::string>{"PATH=/bin", "A=b=c"}));
  EXPECT_EQ(c->working_dir, "/srv");
  EXPECT_EQ(c->stop_signal, "SIGQUIT");
  EXPECT_FALSE(ParseImageConfig(R"({"rootfs": {"diff_ids": []}, "config": {"Cmd": "ls"}})").ok());
}

}  // namespace
}  // namespace peapod::images
