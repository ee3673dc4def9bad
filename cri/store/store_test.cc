#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>
#include <vector>

#include "cri/store/id.h"
#include "cri/store/record_store.h"
#include "gtest/gtest.h"

namespace peapod::cri {
namespace {

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/peapod-store-test-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::unique_ptr<PodStore> OpenPods(bool with_run_dir = false) {
    absl::StatusOr<std::unique_ptr<PodStore>> s = PodStore::Open(
        dir_ + "/pods", "pod sandbox", Durability::kSynced, with_run_dir ? RunDir() : "");
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? std::move(*s) : nullptr;
  }
  std::string RunDir() const { return dir_ + "/run/pods"; }

  static PodRecord Pod(std::string id, std::string name, uint32_t attempt = 0) {
    PodRecord p;
    p.id = std::move(id);
    p.metadata = {
        .name = std::move(name), .uid = "uid-1", .namespace_ = "default", .attempt = attempt};
    p.state = PodState::kReady;
    p.created_at = 1700000000123456789;
    p.labels = {{"app", "web"}};
    p.annotations = {{"peapod.io/host-aliases", "[]"}};
    p.pid_mode = NamespaceMode::kPod;
    p.ip = "10.88.0.5";
    p.additional_ips = {"fd00::5"};
    p.infra_pid = 4242;
    return p;
  }

  std::string dir_;
};

TEST(IdTest, NewIdsAreFullHexAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = NewId();
    EXPECT_TRUE(IsFullId(id)) << id;
    seen.insert(id);
  }
  EXPECT_EQ(seen.size(), 100u);
  EXPECT_FALSE(IsFullId("abc"));
  EXPECT_FALSE(IsFullId(std::string(64, 'g')));
}

TEST(NameTest, UniqueNamesFollowMetadata) {
  PodMetadata m{.name = "web", .uid = "u1", .namespace_ = "ns", .attempt = 2};
  EXPECT_EQ(PodUniqueName(m), "web_ns_u1_2");
  EXPECT_EQ(ContainerUniqueName(m, "nginx", 1), "nginx_web_ns_u1_1");
}

TEST_F(StoreTest, AddGetAndPrefixLookup) {
  auto pods = OpenPods();
  ASSERT_TRUE(pods);
  std::string a = "aa11" + std::string(60, '0');
  std::string b = "aa22" + std::string(60, '0');
  ASSERT_TRUE(pods->Add(Pod(a, "one")).ok());
  ASSERT_TRUE(pods->Add(Pod(b, "two")).ok());

  absl::StatusOr<PodRecord> got = pods->Get("aa1");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->id, a);
  EXPECT_EQ(got->metadata.name, "one");
  EXPECT_EQ(pods->Get(b)->metadata.name, "two");

  EXPECT_EQ(pods->Get("aa").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pods->Get("ff").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pods->Get("").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(*pods->IdByName("two_default_uid-1_0"), b);
  EXPECT_EQ(pods->List().size(), 2u);
}

TEST_F(StoreTest, NamesAndIdsAreUnique) {
  auto pods = OpenPods();
  ASSERT_TRUE(pods);
  std::string id = NewId();
  ASSERT_TRUE(pods->Add(Pod(id, "web")).ok());
  absl::Status dup_name = pods->Add(Pod(NewId(), "web"));
  EXPECT_EQ(dup_name.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_NE(dup_name.message().find(id), absl::string_view::npos) << dup_name;
  EXPECT_EQ(pods->Add(Pod(id, "other")).code(), absl::StatusCode::kAlreadyExists);
  // Another attempt is another name.
  EXPECT_TRUE(pods->Add(Pod(NewId(), "web", 1)).ok());
}

TEST_F(StoreTest, UpdateAndRemove) {
  auto pods = OpenPods();
  ASSERT_TRUE(pods);
  std::string id = NewId();
  PodRecord p = Pod(id, "web");
  EXPECT_EQ(pods->Update(p).code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE(pods->Add(p).ok());
  p.state = PodState::kNotReady;
  ASSERT_TRUE(pods->Update(p).ok());
  EXPECT_EQ(pods->Get(id)->state, PodState::kNotReady);
  PodRecord renamed = p;
  renamed.metadata.name = "other";
  EXPECT_EQ(pods->Update(renamed).code(), absl::StatusCode::kInvalidArgument);

  ASSERT_TRUE(pods->Remove(id).ok());
  EXPECT_EQ(pods->Get(id).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(pods->Remove(id).code(), absl::StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pods/" + id + ".json"));
  // The name is free again.
  EXPECT_TRUE(pods->Add(Pod(NewId(), "web")).ok());
}

TEST_F(StoreTest, RecordsSurviveReopen) {
  std::string id = NewId();
  {
    auto pods = OpenPods();
    ASSERT_TRUE(pods);
    ASSERT_TRUE(pods->Add(Pod(id, "web")).ok());
  }
  struct stat st;
  ASSERT_EQ(stat((dir_ + "/pods/" + id + ".json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(stat((dir_ + "/pods").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);

  auto pods = OpenPods();
  ASSERT_TRUE(pods);
  EXPECT_TRUE(pods->load_errors().empty());
  absl::StatusOr<PodRecord> p = pods->Get(id);
  ASSERT_TRUE(p.ok()) << p.status();
  PodRecord want = Pod(id, "web");
  EXPECT_EQ(p->metadata.uid, want.metadata.uid);
  EXPECT_EQ(p->metadata.namespace_, want.metadata.namespace_);
  EXPECT_EQ(p->created_at, want.created_at);
  EXPECT_EQ(p->labels, want.labels);
  EXPECT_EQ(p->annotations, want.annotations);
  EXPECT_EQ(p->pid_mode, NamespaceMode::kPod);
  EXPECT_EQ(p->state, PodState::kReady);
  EXPECT_EQ(p->additional_ips, want.additional_ips);
  EXPECT_EQ(p->infra_pid, 4242);
  // The name index was rebuilt too.
  EXPECT_EQ(pods->Add(Pod(NewId(), "web")).code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(StoreTest, BadFilesAreReportedAndTempFilesRemoved) {
  std::string id = NewId();
  {
    auto pods = OpenPods();
    ASSERT_TRUE(pods);
  }
  std::ofstream(dir_ + "/pods/" + id + ".json") << "{\"version\": 1, \"id\": 3}";
  std::ofstream(dir_ + "/pods/." + id + ".json.tmp") << "partial";
  auto pods = OpenPods();
  ASSERT_TRUE(pods);
  ASSERT_EQ(pods->load_errors().size(), 1u);
  EXPECT_NE(pods->load_errors()[0].find("$.id"), std::string::npos) << pods->load_errors()[0];
  EXPECT_TRUE(pods->List().empty());
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/pods/." + id + ".json.tmp"));
}

// Writers of different records run at once (their fsyncs happen outside
// the store's lock); every file ends up with its record's last content and
// no temp file is left behind.
TEST_F(StoreTest, ConcurrentWritersKeepFilesAndMemoryInStep) {
  auto store = OpenPods();
  ASSERT_TRUE(store);
  constexpr int kPods = 8;
  std::vector<std::string> ids;
  for (int i = 0; i < kPods; ++i) ids.push_back(NewId());
  std::vector<std::thread> threads;
  for (int i = 0; i < kPods; ++i) {
    threads.emplace_back([&, i] {
      PodRecord p = Pod(ids[i], "pod-" + std::to_string(i));
      ASSERT_TRUE(store->AddUnsynced(p).ok());
      ASSERT_TRUE(store->Sync(p.id).ok());
      for (uint32_t n = 1; n <= 5; ++n) {
        p.infra_pid = n;
        ASSERT_TRUE(store->Update(p).ok());
      }
    });
  }
  for (std::thread& t : threads) t.join();
  auto reopened = OpenPods();
  ASSERT_TRUE(reopened);
  for (const std::string& id : ids) {
    absl::StatusOr<PodRecord> p = reopened->Get(id);
    ASSERT_TRUE(p.ok()) << p.status();
    EXPECT_EQ(p->infra_pid, 5);
  }
  for (const auto& e : std::filesystem::directory_iterator(dir_ + "/pods")) {
    EXPECT_TRUE(e.path().extension() == ".json" && e.path().filename().string()[0] != '.')
        << e.path();
  }
}

// An update racing a removal loses cleanly: NotFound, and no file comes back.
TEST_F(StoreTest, UpdateAfterRemoveIsNotFoundAndLeavesNoFile) {
  auto store = OpenPods();
  ASSERT_TRUE(store);
  PodRecord p = Pod(NewId(), "gone");
  ASSERT_TRUE(store->Add(p).ok());
  ASSERT_TRUE(store->Remove(p.id).ok());
  EXPECT_EQ(store->Update(p).code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Sync(p.id).code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/pods"));
}

// UpdateSoon with a run dir: the new record is in memory and in the run dir
// when it returns, reaches the disk after, survives a reopen, and the syncer
// copes with records removed or updated again before it gets to them.
// The syncer waits a moment before it writes, so that UpdateSoon's caller
// (an RPC about to reply) is not preempted by the disk write; the record
// reaches the disk after the pause, and Flush still waits for it.
TEST_F(StoreTest, TheSyncerWaitsAMomentBeforeItWrites) {
  std::string id = NewId();
  auto pods = OpenPods(true);
  ASSERT_TRUE(pods);
  pods->SetSyncDelay(std::chrono::milliseconds(400));
  PodRecord p = Pod(id, "web");
  p.state = PodState::kNotReady;
  ASSERT_TRUE(pods->Add(p).ok());
  p.state = PodState::kReady;
  p.infra_pid = 91;
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(pods->UpdateSoon(p).ok());
  EXPECT_EQ(pods->Get(id)->infra_pid, 91);
  absl::StatusOr<std::string> text = ReadSmallFile(dir_ + "/pods/" + id + ".json");
  ASSERT_TRUE(text.ok());
  EXPECT_EQ(text->find("\"infraPid\": 91"), std::string::npos) << "written at once: " << *text;
  pods->Flush();
  EXPECT_GE(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(400));
  text = ReadSmallFile(dir_ + "/pods/" + id + ".json");
  ASSERT_TRUE(text.ok());
  EXPECT_NE(text->find("\"infraPid\": 91"), std::string::npos) << *text;
}

TEST_F(StoreTest, UpdateSoonIsVisibleAtOnceAndReachesTheDisk) {
  std::string id = NewId();
  std::string gone = NewId();
  {
    auto pods = OpenPods(true);
    ASSERT_TRUE(pods);
    PodRecord p = Pod(id, "web");
    p.state = PodState::kNotReady;
    ASSERT_TRUE(pods->Add(p).ok());
    EXPECT_EQ(pods->UpdateSoon(Pod(NewId(), "nobody")).code(), absl::StatusCode::kNotFound);
    p.state = PodState::kReady;
    p.infra_pid = 77;
    ASSERT_TRUE(pods->UpdateSoon(p).ok());
    EXPECT_EQ(pods->Get(id)->infra_pid, 77);
    // Updated again at once, and another record removed right after its
    // UpdateSoon: the syncer meets a newer version and a missing record.
    p.infra_pid = 78;
    ASSERT_TRUE(pods->UpdateSoon(p).ok());
    ASSERT_TRUE(pods->Add(Pod(gone, "gone")).ok());
    ASSERT_TRUE(pods->UpdateSoon(Pod(gone, "gone")).ok());
    ASSERT_TRUE(pods->Remove(gone).ok());
    pods->Flush();
    EXPECT_EQ(pods->Get(id)->infra_pid, 78);
    // On disk, and the run dir is empty again.
    absl::StatusOr<std::string> text = ReadSmallFile(dir_ + "/pods/" + id + ".json");
    ASSERT_TRUE(text.ok());
    EXPECT_NE(text->find("\"infraPid\": 78"), std::string::npos) << *text;
    EXPECT_TRUE(std::filesystem::is_empty(RunDir()));
  }  // the destructor stops the syncer
  auto pods = OpenPods(true);
  ASSERT_TRUE(pods);
  EXPECT_TRUE(pods->load_errors().empty());
  EXPECT_EQ(pods->Get(id)->infra_pid, 78);
  EXPECT_EQ(pods->Get(id)->state, PodState::kReady);
  EXPECT_EQ(pods->Get(gone).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir_ + "/pods"),
                          std::filesystem::directory_iterator()),
            1);
}

// What a crash of peapodd leaves between an UpdateSoon and its disk write:
// the run-dir copy is newer, and Open prefers it and writes it to disk. A
// run-dir copy with no disk file (a Remove cut short between its two
// unlinks) or one that does not parse is dropped, not resurrected.
TEST_F(StoreTest, RunDirCopiesWinOnReopenAndOrphansAreDropped) {
  std::string id = NewId();
  {
    auto pods = OpenPods(true);
    ASSERT_TRUE(pods);
    PodRecord p = Pod(id, "web");
    p.state = PodState::kNotReady;
    ASSERT_TRUE(pods->Add(p).ok());
  }
  // The state a crash leaves: disk NOTREADY, run dir READY.
  PodRecord ready = Pod(id, "web");
  ready.infra_pid = 99;
  {
    auto other = PodStore::Open(dir_ + "/other", "pod sandbox");
    ASSERT_TRUE(other.ok());
    ASSERT_TRUE((*other)->Add(ready).ok());
  }
  std::filesystem::copy_file(dir_ + "/other/" + id + ".json", RunDir() + "/" + id + ".json");
  std::string orphan = NewId();
  std::ofstream(RunDir() + "/" + orphan + ".json") << "{}";
  std::ofstream(RunDir() + "/." + id + ".json.7.tmp") << "half";
  {
    auto pods = OpenPods(true);
    ASSERT_TRUE(pods);
    EXPECT_EQ(pods->Get(id)->state, PodState::kReady);
    EXPECT_EQ(pods->Get(id)->infra_pid, 99);
    EXPECT_EQ(pods->Get(orphan).status().code(), absl::StatusCode::kNotFound);
    ASSERT_EQ(pods->load_errors().size(), 1u);
    EXPECT_NE(pods->load_errors()[0].find(orphan), std::string::npos);
    pods->Flush();
    EXPECT_TRUE(std::filesystem::is_empty(RunDir()));
  }
  // Written to disk: a store without the run dir (after a reboot) sees it.
  auto pods = OpenPods(false);
  ASSERT_TRUE(pods);
  EXPECT_EQ(pods->Get(id)->infra_pid, 99);
}

// Update (synced) after an UpdateSoon: the disk holds the newest record and
// the older run-dir copy is gone, so a reopen cannot bring it back.
TEST_F(StoreTest, UpdateSupersedesAPendingUpdateSoon) {
  std::string id = NewId();
  {
    auto pods = OpenPods(true);
    ASSERT_TRUE(pods);
    PodRecord p = Pod(id, "web");
    ASSERT_TRUE(pods->Add(p).ok());
    p.infra_pid = 1;
    ASSERT_TRUE(pods->UpdateSoon(p).ok());
    p.infra_pid = 2;
    ASSERT_TRUE(pods->Update(p).ok());
    EXPECT_FALSE(std::filesystem::exists(RunDir() + "/" + id + ".json"));
    pods->Flush();
  }
  auto pods = OpenPods(true);
  ASSERT_TRUE(pods);
  EXPECT_EQ(pods->Get(id)->infra_pid, 2);
}

// A rename-only store (container records) writes nothing durable but is
// still atomic and complete on reopen; an unreadable record (torn by a power
// cut) is reported and removed, not kept to fail every start.
TEST_F(StoreTest, RenameOnlyStoreKeepsRecordsAndDropsTornOnes) {
  std::string dir = dir_ + "/pods";
  {
    auto s = PodStore::Open(dir, "pod sandbox", Durability::kRenameOnly);
    ASSERT_TRUE(s.ok()) << s.status();
    PodRecord p = Pod(NewId(), "kept");
    ASSERT_TRUE((*s)->Add(p).ok());
    p.infra_pid = 77;
    ASSERT_TRUE((*s)->Update(p).ok());
    PodRecord gone = Pod(NewId(), "gone");
    ASSERT_TRUE((*s)->Add(gone).ok());
    ASSERT_TRUE((*s)->Remove(gone.id).ok());
  }
  std::string torn = dir + "/" + NewId() + ".json";
  std::ofstream(torn) << "";  // what a power cut can leave of an unsynced file
  auto s = PodStore::Open(dir, "pod sandbox", Durability::kRenameOnly);
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<PodRecord> all = (*s)->List();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].infra_pid, 77);
  ASSERT_EQ((*s)->load_errors().size(), 1u);
  EXPECT_NE((*s)->load_errors()[0].find("(removed)"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(torn));
  // A synced store keeps such a file.
  std::ofstream(torn) << "";
  auto synced = PodStore::Open(dir, "pod sandbox");
  ASSERT_TRUE(synced.ok());
  EXPECT_TRUE(std::filesystem::exists(torn));
}

TEST_F(StoreTest, ContainersRoundTrip) {
  std::string id = NewId();
  ContainerRecord c;
  c.id = id;
  c.pod_id = NewId();
  c.name = "nginx";
  c.attempt = 3;
  c.unique_name = ContainerUniqueName({.name = "web", .uid = "u", .namespace_ = "n"}, "nginx", 3);
  c.image = "docker.io/library/nginx:latest";
  c.state = ContainerState::kExited;
  c.exit_code = -9;
  c.finished_at = 5;
  c.tty = true;
  c.log_path = "/var/log/pods/x/nginx/3.log";
  {
    auto s = ContainerStore::Open(dir_ + "/containers", "container");
    ASSERT_TRUE(s.ok()) << s.status();
    ASSERT_TRUE((*s)->Add(c).ok());
  }
  auto s = ContainerStore::Open(dir_ + "/containers", "container");
  ASSERT_TRUE(s.ok()) << s.status();
  absl::StatusOr<ContainerRecord> got = (*s)->Get(id.substr(0, 12));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->pod_id, c.pod_id);
  EXPECT_EQ(got->unique_name, "nginx_web_n_u_3");
  EXPECT_EQ(got->state, ContainerState::kExited);
  EXPECT_EQ(got->exit_code, -9);
  EXPECT_EQ(got->finished_at, 5);
  EXPECT_TRUE(got->tty);
  EXPECT_EQ(got->log_path, c.log_path);
  EXPECT_EQ(got->attempt, 3u);
}

}  // namespace
}  // namespace peapod::cri
