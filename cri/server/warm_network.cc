#include "cri/server/warm_network.h"

#include <unistd.h>

#include <chrono>
#include <filesystem>

#include "cri/net/netns.h"
#include "cri/server/daemon.h"
#include "cri/server/pod_network.h"
#include "cri/store/id.h"
#include "cri/store/record_file.h"
#include "cri/util/str.h"
#include "oci/linux/file_util.h"

namespace peapod::cri {
namespace {

// How long Take waits for an attachment being made (its ADD is ~40 ms; a
// hung plugin is the pod's own ADD's problem, not this one's).
constexpr std::chrono::seconds kTakeWait{5};

}  // namespace

WarmNetwork::WarmNetwork(Daemon& d) : d_(d) {}

WarmNetwork::~WarmNetwork() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (maker_.joinable()) maker_.join();
  for (const Made& m : stale_) TearDown(m);
  if (ready_) TearDown(*ready_);
}

std::string WarmNetwork::IntentDir() const { return Cat(d_.config.root, "/cni-warm"); }

void WarmNetwork::Recover() {
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(IntentDir(), ec)) {
    const std::string id = e.path().filename().string();
    if (IsFullId(id) && !d_.pods->Get(id).ok()) {
      // Nobody's: a killed peapodd's unused one, or taken by a pod that got
      // no record. DEL whether or not its namespace and cached result are
      // still there (after a reboot neither may be; the lease is).
      absl::Status s;
      absl::StatusOr<CniNetwork> net = CniNetwork::FromCachedAdd(PodCniOptions(d_), id);
      if (!net.ok()) net = CniNetwork::LoadDefault(d_.config.cni_conf_dir);
      if (net.ok()) {
        CniAttachment a;
        a.container_id = id;
        a.netns_path = PodNetnsPath(d_, id);
        s = net->Del(PodCniOptions(d_), a);
      } else if (!absl::IsNotFound(net.status())) {
        s = net.status();
      }
      if (s.ok()) s = RemovePinnedNetns(PodNetnsPath(d_, id));
      if (!s.ok()) {
        d_.log.Warn(Cat("warm CNI attachment ", id, ": ", s.ToString()));
        continue;  // kept for the next start
      }
      d_.log.Info(Cat("warm CNI attachment ", id, " left by an earlier peapodd: torn down"));
    }
    if (::unlink(e.path().c_str()) != 0 && errno != ENOENT) {
      d_.log.Warn(Cat("remove ", e.path().string(), ": ", strerror(errno)));
    }
  }
}

void WarmNetwork::Start() {
  maker_ = std::thread([this] { Fill(); });
}

absl::StatusOr<WarmNetwork::Taken> WarmNetwork::Take(const CniNetwork& net) {
  std::unique_lock lock(mu_);
  wanted_ = true;
  cv_.wait_for(lock, kTakeWait, [&] { return !making_; });
  std::optional<Made> m;
  m.swap(ready_);
  absl::Status st;
  if (!m) {
    st = absl::NotFoundError("no warm CNI attachment ready");
  } else if (!m->net.SameAs(net)) {
    st = absl::NotFoundError(
        Cat("the warm CNI attachment was made for an earlier config of network \"", m->net.name(),
            "\""));
    stale_.push_back(*std::move(m));
  }
  lock.unlock();
  cv_.notify_all();  // the next one, or the stale one torn down
  if (!st.ok()) return st;
  return std::move(m->taken);
}

void WarmNetwork::GiveBack(Taken t, const CniNetwork& net) {
  {
    std::lock_guard lock(mu_);
    Made m{std::move(t), net};
    if (!ready_ && !stopping_) {
      ready_ = std::move(m);
    } else {
      stale_.push_back(std::move(m));
    }
  }
  cv_.notify_all();
}

void WarmNetwork::Adopted(const std::string& id) {
  std::string path = Cat(IntentDir(), "/", id);
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) {
    d_.log.Warn(Cat("remove ", path, ": ", strerror(errno)));
  }
}

absl::StatusOr<WarmNetwork::Made> WarmNetwork::Make() {
  absl::StatusOr<CniNetwork> net = CniNetwork::LoadDefault(d_.config.cni_conf_dir);
  if (!net.ok()) return net.status();
  if (net->WarmHeadLength() == 0) {
    return absl::FailedPreconditionError(
        Cat("network \"", net->name(), "\" starts with a plugin that needs the pod"));
  }
  Made m{Taken{NewId(), "", {}}, *net};
  const std::string intent = Cat(IntentDir(), "/", m.taken.id);
  if (absl::Status s = EnsureDir(IntentDir()); !s.ok()) return s;
  // On the disk before anything that outlives a crash (the lease).
  if (absl::Status s = linux::WriteFileAtomic(intent, Cat(net->name(), "\n")); !s.ok()) return s;
  absl::StatusOr<PinnedNetns> ns = PinnedNetns::Create(PodNetnsDir(d_), m.taken.id);
  if (!ns.ok()) {
    ::unlink(intent.c_str());
    return ns.status();
  }
  CniAttachment a;
  a.container_id = m.taken.id;
  a.netns_path = ns->path();
  a.args = {{"K8S_POD_INFRA_CONTAINER_ID", m.taken.id}};
  absl::StatusOr<CniHead> head = net->AddHead(PodCniOptions(d_), a);
  if (!head.ok()) {
    (void)ns->Remove();
    ::unlink(intent.c_str());
    return head.status();
  }
  m.taken.head = *std::move(head);
  m.taken.netns = ns->Release();
  return m;
}

void WarmNetwork::TearDown(const Made& m) {
  CniAttachment a;
  a.container_id = m.taken.id;
  a.netns_path = m.taken.netns;
  if (absl::Status s = m.net.Del(PodCniOptions(d_), a); !s.ok()) {
    // The intent stays: the next start tries again.
    d_.log.Warn(Cat("warm CNI attachment ", m.taken.id, ": ", s.ToString()));
    return;
  }
  if (absl::Status s = RemovePinnedNetns(m.taken.netns); !s.ok()) {
    d_.log.Warn(Cat("warm CNI attachment ", m.taken.id, ": ", s.ToString()));
    return;
  }
  Adopted(m.taken.id);  // the intent goes
}

void WarmNetwork::Fill() {
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stopping_ || !stale_.empty() || (wanted_ && !ready_); });
    if (!stale_.empty()) {
      std::vector<Made> old;
      old.swap(stale_);
      lock.unlock();
      for (const Made& m : old) TearDown(m);
      lock.lock();
      continue;
    }
    if (stopping_) return;
    lock.unlock();
    d_.runp_gate.WaitIdle(std::chrono::seconds(2));
    lock.lock();
    if (stopping_ || !stale_.empty() || !wanted_ || ready_) continue;
    // From here a Take waits for this one rather than go without.
    making_ = true;
    lock.unlock();
    absl::StatusOr<Made> m = Make();
    lock.lock();
    making_ = false;
    if (m.ok()) {
      ready_ = *std::move(m);
    } else {
      // No CNI config, or one that cannot be warmed, is no news; the next
      // Take asks again.
      if (!absl::IsNotFound(m.status()) && !absl::IsFailedPrecondition(m.status())) {
        d_.log.Warn(Cat("cannot make a warm CNI attachment: ", m.status().ToString()));
      }
      wanted_ = false;
    }
    lock.unlock();
    cv_.notify_all();
    lock.lock();
  }
}

}  // namespace peapod::cri
