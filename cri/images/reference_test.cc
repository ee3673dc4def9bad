#include "cri/images/reference.h"

#include "cri/images/manifest.h"
#include "cri/images/registry_client.h"
#include "cri/images/registry_config.h"
#include "gtest/gtest.h"

namespace peapod::images {
namespace {

TEST(ReferenceTest, Normalises) {
  EXPECT_EQ(ParseReference("busybox")->String(), "docker.io/library/busybox:latest");
  EXPECT_EQ(ParseReference("user/app:1.0")->String(), "docker.io/user/app:1.0");
  EXPECT_EQ(ParseReference("index.docker.io/library/alpine")->String(),
            "docker.io/library/alpine:latest");
  auto r = ParseReference("127.0.0.1:5000/a/b:v2");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->domain, "127.0.0.1:5000");
  EXPECT_EQ(r->path, "a/b");
  EXPECT_EQ(r->tag, "v2");
  EXPECT_EQ(ParseReference("localhost/x")->domain, "localhost");
  std::string d = "sha256:" + std::string(64, 'a');
  auto byd = ParseReference("quay.io/x/y@" + d);
  ASSERT_TRUE(byd.ok());
  EXPECT_EQ(byd->tag, "");
  EXPECT_EQ(byd->digest, d);
  EXPECT_EQ(ParseReference("host:5000/x:t@" + d)->String(), "host:5000/x:t@" + d);
}

TEST(ReferenceTest, RejectsBadNames) {
  for (const char* bad : {"", "UPPER/case", "a//b", "x:", "x@sha256:abc", "x:bad tag", "-x"}) {
    EXPECT_FALSE(ParseReference(bad).ok()) << bad;
  }
}

TEST(RegistryConfigTest, MirrorsAndInsecure) {
  auto c = ParseRegistryConfig(
      "[\"docker.io\"]\nmirrors = [\"http://127.0.0.1:5000/\", \"mirror.example\"]\n"
      "[\"reg.local:5000\"]\ninsecure = true\n");
  ASSERT_TRUE(c.ok()) << c.status();
  auto eps = EndpointsFor(*c, "docker.io");
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0].base_url, "http://127.0.0.1:5000");
  EXPECT_EQ(eps[1].base_url, "https://mirror.example");
  EXPECT_EQ(eps[2].base_url, "https://registry-1.docker.io");
  EXPECT_FALSE(eps[2].mirror);
  EXPECT_EQ(EndpointsFor(*c, "reg.local:5000")[0].base_url, "http://reg.local:5000");
  EXPECT_EQ(EndpointsFor(*c, "127.0.0.1:9")[0].base_url, "http://127.0.0.1:9");
  EXPECT_EQ(EndpointsFor(*c, "quay.io")[0].base_url, "https://quay.io");
  EXPECT_FALSE(ParseRegistryConfig("[\"x\"]\nmirrorz = []\n").ok());
  EXPECT_FALSE(ParseRegistryConfig("[\"x\"]\ninsecure = \"yes\"\n").ok());
  auto whole = ParseRegistryConfigFromFile(
      "root = \"/x\"\n[registry.\"docker.io\"]\nmirrors = [\"http://m\"]\n");
  ASSERT_TRUE(whole.ok()) << whole.status();
  EXPECT_EQ(whole->hosts.at("docker.io").mirrors[0], "http://m");
}

TEST(ChallengeTest, ParsesBearer) {
  auto p = ParseChallenge(
      "Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
      "scope=\"repository:library/busybox:pull\"");
  EXPECT_EQ(p["scheme"], "bearer");
  EXPECT_EQ(p["realm"], "https://auth.docker.io/token");
  EXPECT_EQ(p["service"], "registry.docker.io");
  EXPECT_EQ(p["scope"], "repository:library/busybox:pull");
  EXPECT_EQ(ParseChallenge("Basic realm=\"x\"")["scheme"], "basic");
}

TEST(ManifestTest, RejectsIndexThatIsAlsoAManifest) {
  std::string d = "sha256:" + std::string(64, 'b');
  std::string both = "{\"schemaVersion\":2,\"manifests\":[],\"config\":{\"digest\":\"" + d +
                     "\",\"size\":1},\"layers\":[]}";
  EXPECT_EQ(ParseManifest(both).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_FALSE(ParseManifest("{\"schemaVersion\":1,\"fsLayers\":[]}").ok());
  std::string bad_layer = "{\"schemaVersion\":2,\"config\":{\"digest\":\"" + d +
                          "\",\"size\":1},\"layers\":[{\"mediaType\":\"text/html\",\"digest\":\"" +
                          d + "\",\"size\":1}]}";
  EXPECT_FALSE(ParseManifest(bad_layer).ok());
  std::string index = "{\"schemaVersion\":2,\"manifests\":[{\"digest\":\"" + d +
                      "\",\"size\":3,\"platform\":{\"os\":\"linux\",\"architecture\":\"arm64\"}}]}";
  auto m = ParseManifest(index);
  ASSERT_TRUE(m.ok());
  EXPECT_TRUE(m->is_index);
  EXPECT_EQ(SelectPlatform(*m).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(SelectPlatform(*m, "linux", "arm64")->digest, d);
}

// An index whose mediaType (its own, or the one it is served or referenced
// with) says "manifest", and a manifest that says "index", are ambiguous:
// another client could read them as the other kind (CVE-2021-41190).
TEST(ManifestTest, RejectsMediaTypeOfTheOtherKind) {
  std::string d = "sha256:" + std::string(64, 'c');
  std::string entries = "[{\"digest\":\"" + d + "\",\"size\":3}]";
  std::string image = "\"config\":{\"digest\":\"" + d + "\",\"size\":1},\"layers\":[]";
  auto with_type = [](std::string_view type, const std::string& rest) {
    return "{\"schemaVersion\":2,\"mediaType\":\"" + std::string(type) + "\"," + rest + "}";
  };
  for (std::string_view manifest_type : {kOciManifest, kDockerManifest}) {
    std::string index = with_type(manifest_type, "\"manifests\":" + entries);
    EXPECT_EQ(ParseManifest(index).status().code(), absl::StatusCode::kInvalidArgument) << index;
    std::string plain = "{\"schemaVersion\":2,\"manifests\":" + entries + "}";
    EXPECT_TRUE(ParseManifest(plain).ok());
    EXPECT_EQ(ParseManifest(plain, manifest_type).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
  for (std::string_view index_type : {kOciIndex, kDockerList}) {
    std::string manifest = with_type(index_type, image);
    EXPECT_EQ(ParseManifest(manifest).status().code(), absl::StatusCode::kInvalidArgument)
        << manifest;
    std::string plain = "{\"schemaVersion\":2," + image + "}";
    EXPECT_TRUE(ParseManifest(plain).ok());
    EXPECT_EQ(ParseManifest(plain, index_type).status().code(), absl::StatusCode::kInvalidArgument);
  }
  // Matching types, and types that say nothing about the kind, are fine.
  EXPECT_TRUE(ParseManifest(with_type(kOciIndex, "\"manifests\":" + entries), kDockerList).ok());
  EXPECT_TRUE(ParseManifest(with_type(kDockerManifest, image), kOciManifest).ok());
  EXPECT_TRUE(ParseManifest(with_type(kOciManifest, image), "application/json").ok());
}

}  // namespace
}  // namespace peapod::images
