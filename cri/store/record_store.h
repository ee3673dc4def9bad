// RecordStore<R>: peapodd's table of pods (R = PodRecord) or containers
// (R = ContainerRecord), kept in memory and mirrored to one JSON file per
// record, "<dir>/<id>.json".
//
// A store may have a run dir as well (on the state dir, a tmpfs on nodes):
// UpdateSoon writes the new record there, which is cheap, and the syncer
// thread brings the disk copy up to date just after. A rename over an
// existing file on ext4 costs about half a millisecond (auto_da_alloc starts
// the new file's writeback), which RunPodSandbox and StartContainer no
// longer wait for.
//
// Invariants, held under mu_:
//  - every record in records_ has a file on disk (renamed into place before
//    the map changes; fsyncs happen outside mu_, so a slow disk never
//    blocks readers); its content is the record's, or for an id in
//    pending_ an older version, the record's being in the run dir;
//  - a run-dir file exists only for a record that has a disk file, and is
//    newer than it: Load prefers it, and drops one without a disk file;
//  - names_ maps each record's unique name to its id, one to one.
// Lookups accept an id prefix, as crictl does: a unique prefix resolves,
// none is NotFound, several is InvalidArgument ("ambiguous").
#pragma once

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "cri/store/record_file.h"
#include "cri/store/records.h"
#include "cri/util/str.h"
#include "oci/spec/json.h"

namespace peapod::cri {

// Resolves `prefix` among the sorted keys of `ids`; `kind` names the object
// ("pod sandbox", "container") in errors.
template <typename V>
absl::StatusOr<std::string> ResolveIdPrefix(const std::map<std::string, V, std::less<>>& ids,
                                            std::string_view prefix, std::string_view kind) {
  if (prefix.empty()) return absl::InvalidArgumentError(Cat(kind, " id must not be empty"));
  if (ids.contains(prefix)) return std::string(prefix);
  auto it = ids.lower_bound(prefix);
  if (it == ids.end() || !it->first.starts_with(prefix)) {
    return absl::NotFoundError(Cat(kind, " \"", prefix, "\" not found"));
  }
  auto next = std::next(it);
  if (next != ids.end() && next->first.starts_with(prefix)) {
    return absl::InvalidArgumentError(Cat(kind, " id prefix \"", prefix, "\" is ambiguous"));
  }
  return it->first;
}

// How a store's writes reach the disk. kSynced: Add and Remove are durable
// when they return, an update's new content is fsynced before its rename.
// kRenameOnly: atomic renames and nothing waits for the disk, for records
// whose loss in a power cut leaks nothing (what they own that outlives a
// reboot is found and removed by other means).
enum class Durability { kSynced, kRenameOnly };

template <typename R>
class RecordStore {
 public:
  // Opens (creating if needed) `dir` and loads every record in it. Records
  // that fail to parse are skipped and described in load_errors().
  // With `run_dir` (created if needed), UpdateSoon writes there first.
  static absl::StatusOr<std::unique_ptr<RecordStore>> Open(
      std::string dir, std::string kind, Durability durability = Durability::kSynced,
      std::string run_dir = "") {
    if (absl::Status s = EnsureDir(dir); !s.ok()) return s;
    if (!run_dir.empty()) {
      if (absl::Status s = EnsureDir(run_dir); !s.ok()) return s;
    }
    std::unique_ptr<RecordStore> store(
        new RecordStore(std::move(dir), std::move(kind), durability, std::move(run_dir)));
    if (absl::Status s = store->Load(); !s.ok()) return s;
    return store;
  }

  // Problems met while loading, one line each ("<file>: <error>").
  const std::vector<std::string>& load_errors() const { return load_errors_; }

  // Adds a new record: AlreadyExists if its id or unique name is taken.
  // Durable when this returns.
  absl::Status Add(const R& r) {
    if (absl::Status s = AddUnsynced(r); !s.ok()) return s;
    return durability_ == Durability::kSynced ? Sync(r.id) : absl::OkStatus();
  }

  // Add() without the wait for the disk: the record file is in place
  // (renamed, so a crash of this process leaves it whole) but a power loss
  // may lose it until Sync(r.id) returns. For callers that overlap that
  // wait with other work.
  absl::Status AddUnsynced(const R& r) {
    std::string name = RecordName(r);
    std::string text = json::Write(RecordToJson(r), true);
    std::lock_guard lock(mu_);
    if (records_.contains(r.id)) {
      return absl::AlreadyExistsError(Cat(kind_, " id ", r.id, " already exists"));
    }
    if (auto it = names_.find(name); it != names_.end()) {
      return absl::AlreadyExistsError(
          Cat(kind_, " name \"", name, "\" is already reserved by ", it->second));
    }
    // Not synced: no disk wait under the lock.
    absl::StatusOr<std::string> tmp = WriteTempFile(dir_, FileName(r.id), text, false);
    if (!tmp.ok()) return tmp.status();
    if (absl::Status s = CommitTempFile(*tmp, dir_, FileName(r.id)); !s.ok()) return s;
    records_.emplace(r.id, r);
    names_.emplace(std::move(name), r.id);
    return absl::OkStatus();
  }

  // Makes the record file with this id durable (its content and its name).
  absl::Status Sync(std::string_view id) const { return SyncFileAndDir(dir_, FileName(id)); }

  // Replaces an existing record (same id, same unique name). The new content
  // is written and fsynced outside the lock, then renamed over the old file
  // under it, so other records' readers never wait for the disk. A crash or
  // power loss leaves the old record or the new one; the rename is not made
  // durable: the old record is what a reboot needs, the processes the new one
  // describes being gone by then.
  absl::Status Update(const R& r) {
    return Replace(r, /*to_run_dir=*/false, durability_ == Durability::kSynced);
  }

  // Update() that does not wait for the disk, for a change that a crash of
  // this process must not lose but a reboot need not keep (a pod turning
  // READY, a container starting: their processes die with the boot). The
  // new record is in the run dir when this returns, and the syncer writes
  // it to disk (fsynced in a kSynced store) right after; until then the
  // disk holds the old one, which is what a reboot needs. Without a run
  // dir this is Update().
  absl::Status UpdateSoon(const R& r) {
    if (run_dir_.empty()) return Update(r);
    if (absl::Status s = Replace(r, /*to_run_dir=*/true, false); !s.ok()) return s;
    QueueSync(r.id);
    return absl::OkStatus();
  }

  // How long the syncer waits, once woken, before it writes (default
  // kSyncDelay): the caller of UpdateSoon finishes its reply meanwhile.
  void SetSyncDelay(std::chrono::milliseconds d) {
    std::lock_guard lock(sync_mu_);
    sync_delay_ = d;
  }

  // Waits until every UpdateSoon so far is on disk (tests; the destructor).
  // A disk write that failed leaves its record in the run dir.
  void Flush() {
    std::unique_lock lock(sync_mu_);
    sync_cv_.wait(lock, [&] { return to_sync_.empty() && !syncing_; });
  }

  ~RecordStore() {
    {
      std::lock_guard lock(sync_mu_);
      stopping_ = true;
    }
    sync_cv_.notify_all();
    if (syncer_.joinable()) syncer_.join();
  }

  // The full id for an id or unique id prefix.
  absl::StatusOr<std::string> Resolve(std::string_view id_or_prefix) const {
    std::lock_guard lock(mu_);
    return ResolveIdPrefix(records_, id_or_prefix, kind_);
  }

  // A copy of the record with this id or id prefix.
  absl::StatusOr<R> Get(std::string_view id_or_prefix) const {
    std::lock_guard lock(mu_);
    absl::StatusOr<std::string> id = ResolveIdPrefix(records_, id_or_prefix, kind_);
    if (!id.ok()) return id.status();
    return records_.find(*id)->second;
  }

  // The id of the record holding a unique name; NotFound if none.
  absl::StatusOr<std::string> IdByName(std::string_view name) const {
    std::lock_guard lock(mu_);
    auto it = names_.find(name);
    if (it == names_.end()) return absl::NotFoundError(Cat(kind_, " \"", name, "\" not found"));
    return it->second;
  }

  // Deletes a record (full id) from disk and memory; NotFound if unknown.
  // The unlink is made durable after the lock is released.
  absl::Status Remove(std::string_view id) {
    {
      std::lock_guard disk(disk_mu_);
      std::lock_guard lock(mu_);
      auto it = records_.find(id);
      if (it == records_.end()) return absl::NotFoundError(Cat(kind_, " ", id, " not found"));
      std::string path = Cat(dir_, "/", FileName(id));
      if (unlink(path.c_str()) != 0 && errno != ENOENT) {
        return absl::ErrnoToStatus(errno, Cat("unlink ", path));
      }
      // The disk file went first: a crash here leaves a run-dir file with
      // no disk file, which Load drops.
      DropRunCopy(id);
      names_.erase(RecordName(it->second));
      records_.erase(it);
    }
    return durability_ == Durability::kSynced ? SyncDir(dir_) : absl::OkStatus();
  }

  // Copies of every record, ordered by id.
  std::vector<R> List() const {
    std::lock_guard lock(mu_);
    std::vector<R> out;
    out.reserve(records_.size());
    for (const auto& [id, r] : records_) out.push_back(r);
    return out;
  }

 private:
  RecordStore(std::string dir, std::string kind, Durability durability, std::string run_dir)
      : dir_(std::move(dir)),
        kind_(std::move(kind)),
        durability_(durability),
        run_dir_(std::move(run_dir)) {}

  static std::string FileName(std::string_view id) { return Cat(id, ".json"); }

  // Update's and UpdateSoon's body: the new content in a temp file (fsynced
  // if `sync_temp`) written outside mu_, renamed over the old file under
  // it, on disk or in the run dir.
  absl::Status Replace(const R& r, bool to_run_dir, bool sync_temp) {
    const std::string& dir = to_run_dir ? run_dir_ : dir_;
    {
      std::lock_guard lock(mu_);
      if (absl::Status s = CheckUpdate(r); !s.ok()) return s;
    }
    absl::StatusOr<std::string> tmp =
        WriteTempFile(dir, FileName(r.id), json::Write(RecordToJson(r), true), sync_temp);
    if (!tmp.ok()) return tmp.status();
    std::unique_lock<std::mutex> disk;  // a disk file changes: keep the syncer out
    if (!to_run_dir) disk = std::unique_lock(disk_mu_);
    std::lock_guard lock(mu_);
    if (absl::Status s = CheckUpdate(r); !s.ok()) {  // removed meanwhile
      unlink(tmp->c_str());
      return s;
    }
    if (absl::Status s = CommitTempFile(*tmp, dir, FileName(r.id)); !s.ok()) return s;
    records_.find(r.id)->second = r;
    if (to_run_dir) {
      pending_[r.id] = ++seq_;
    } else {
      DropRunCopy(r.id);  // older than the disk file now
    }
    return absl::OkStatus();
  }

  // Under mu_: forgets the run-dir copy of a record, if it has one.
  void DropRunCopy(std::string_view id) {
    auto it = pending_.find(id);
    if (it == pending_.end()) return;
    pending_.erase(it);
    unlink(Cat(run_dir_, "/", FileName(id)).c_str());
  }

  void QueueSync(const std::string& id) {
    std::lock_guard lock(sync_mu_);
    if (!syncer_.joinable()) syncer_ = std::thread([this] { SyncLoop(); });
    to_sync_.insert(id);
    sync_cv_.notify_one();
  }

  // The syncer: writes the records UpdateSoon put in the run dir to disk,
  // then exits with the store once its queue is empty.
  void SyncLoop() {
    std::unique_lock lock(sync_mu_);
    bool woken = true;  // started for an UpdateSoon
    for (;;) {
      if (!stopping_ && to_sync_.empty()) {
        sync_cv_.wait(lock, [&] { return stopping_ || !to_sync_.empty(); });
        woken = true;
      }
      if (woken) {
        // Not at once: woken by the RPC's own thread, this one is queued on
        // its CPU and preempts it, and a disk write here held the reply
        // back (~0.3 ms, traced). A moment later the reply is out.
        sync_cv_.wait_for(lock, sync_delay_, [&] { return stopping_; });
        woken = false;
      }
      if (to_sync_.empty()) return;  // stopping, nothing left
      std::string id = *to_sync_.begin();
      to_sync_.erase(to_sync_.begin());
      syncing_ = true;
      lock.unlock();
      WriteBack(id);
      lock.lock();
      syncing_ = false;
      sync_cv_.notify_all();
    }
  }

  // The disk copy of a record whose newest version is in the run dir. The
  // slow rename happens outside mu_ (under disk_mu_, which keeps Remove and
  // Update out); the run-dir copy goes once the disk holds its version.
  void WriteBack(const std::string& id) {
    std::string text;
    uint64_t seq;
    {
      std::lock_guard lock(mu_);
      auto p = pending_.find(id);
      if (p == pending_.end()) return;  // removed, or overwritten by Update
      seq = p->second;
      text = json::Write(RecordToJson(records_.find(id)->second), true);
    }
    absl::StatusOr<std::string> tmp =
        WriteTempFile(dir_, FileName(id), text, durability_ == Durability::kSynced);
    if (!tmp.ok()) return;  // the run-dir copy stays, and Load prefers it
    std::lock_guard disk(disk_mu_);
    {
      // Removed, or Update wrote a newer version to disk meanwhile.
      std::lock_guard lock(mu_);
      if (!pending_.contains(id)) {
        unlink(tmp->c_str());
        return;
      }
    }
    if (!CommitTempFile(*tmp, dir_, FileName(id)).ok()) return;
    std::lock_guard lock(mu_);
    if (auto p = pending_.find(id); p != pending_.end() && p->second == seq) DropRunCopy(id);
  }

  // Under mu_: the record exists and keeps its name.
  absl::Status CheckUpdate(const R& r) const {
    auto it = records_.find(r.id);
    if (it == records_.end()) return absl::NotFoundError(Cat(kind_, " ", r.id, " not found"));
    if (RecordName(it->second) != RecordName(r)) {
      return absl::InvalidArgumentError(Cat(kind_, " ", r.id, ": the name cannot change"));
    }
    return absl::OkStatus();
  }

  absl::Status Load() {
    if (absl::Status s = RemoveTempFiles(dir_); !s.ok()) return s;
    absl::StatusOr<std::vector<std::string>> files = ListFiles(dir_, ".json");
    if (!files.ok()) return files.status();
    for (const std::string& file : *files) {
      std::string path = Cat(dir_, "/", file);
      R r;
      absl::Status s = LoadOne(path, file, r);
      if (s.ok() && names_.contains(RecordName(r))) {
        s = absl::AlreadyExistsError(Cat("duplicate name \"", RecordName(r), "\""));
      }
      if (!s.ok()) {
        // Unsynced records may be torn by a power cut: such a file is gone
        // with the state it described. A synced one is kept for inspection.
        bool drop = durability_ == Durability::kRenameOnly && !absl::IsAlreadyExists(s);
        if (drop) unlink(path.c_str());
        load_errors_.push_back(Cat(path, ": ", StdView(s.message()), drop ? " (removed)" : ""));
        continue;
      }
      names_.emplace(RecordName(r), r.id);
      records_.emplace(r.id, std::move(r));
    }
    return run_dir_.empty() ? absl::OkStatus() : LoadRunDir();
  }

  // The run-dir copies, newer than their disk files: each replaces its
  // record and is queued for the disk. One without a disk file (a Remove
  // cut short) or that does not parse is removed.
  absl::Status LoadRunDir() {
    if (absl::Status s = RemoveTempFiles(run_dir_); !s.ok()) return s;
    absl::StatusOr<std::vector<std::string>> files = ListFiles(run_dir_, ".json");
    if (!files.ok()) return files.status();
    std::vector<std::string> newer;
    for (const std::string& file : *files) {
      std::string path = Cat(run_dir_, "/", file);
      R r;
      absl::Status s = LoadOne(path, file, r);
      auto it = s.ok() ? records_.find(r.id) : records_.end();
      if (it == records_.end() || RecordName(it->second) != RecordName(r)) {
        if (s.ok()) s = absl::NotFoundError("no record on disk with this id and name");
        unlink(path.c_str());
        load_errors_.push_back(Cat(path, ": ", StdView(s.message()), " (removed)"));
        continue;
      }
      it->second = std::move(r);
      pending_[it->first] = ++seq_;
      newer.push_back(it->first);
    }
    for (const std::string& id : newer) QueueSync(id);  // the syncer starts here
    return absl::OkStatus();
  }

  static absl::Status LoadOne(const std::string& path, const std::string& file, R& r) {
    absl::StatusOr<json::Value> v = json::ParseFile(path);
    if (!v.ok()) return v.status();
    if (absl::Status s = RecordFromJson(*v, r); !s.ok()) return s;
    if (Cat(r.id, ".json") != file) {
      return absl::DataLossError(Cat("record id ", r.id, " does not match its file name"));
    }
    return absl::OkStatus();
  }

  const std::string dir_;
  const std::string kind_;
  const Durability durability_;
  const std::string run_dir_;  // empty: none
  // Taken before mu_ by whatever renames or unlinks a disk file outside a
  // single mu_ section (the syncer's rename), and by Remove and Update.
  std::mutex disk_mu_;
  mutable std::mutex mu_;
  std::map<std::string, R, std::less<>> records_;
  std::map<std::string, std::string, std::less<>> names_;
  // Records whose newest version is in the run dir only, with the number of
  // that version.
  std::map<std::string, uint64_t, std::less<>> pending_;
  uint64_t seq_ = 0;
  std::vector<std::string> load_errors_;
  static constexpr std::chrono::milliseconds kSyncDelay{2};
  std::chrono::milliseconds sync_delay_ = kSyncDelay;  // under sync_mu_
  // UpdateSoon's syncer (started by the first UpdateSoon).
  std::mutex sync_mu_;
  std::condition_variable sync_cv_;
  std::set<std::string> to_sync_;
  bool syncing_ = false;
  bool stopping_ = false;
  std::thread syncer_;
};

using PodStore = RecordStore<PodRecord>;
using ContainerStore = RecordStore<ContainerRecord>;

}  // namespace peapod::cri
