#include "shim/events.h"

#include <time.h>

#include <chrono>

#include "github.com/containerd/containerd/api/services/ttrpc/events/v1/events.pb.h"

namespace peapod::shim {

namespace {
constexpr int kAttempts = 5;
constexpr size_t kMaxQueued = 1024;

// The event message of each topic, named without reflection (building the
// descriptor pool would page in most of libprotobuf for one string).
const char* EventType(const std::string& topic) {
  static constexpr std::pair<const char*, const char*> kTypes[] = {
      {"/tasks/create", "containerd.events.TaskCreate"},
      {"/tasks/start", "containerd.events.TaskStart"},
      {"/tasks/exit", "containerd.events.TaskExit"},
      {"/tasks/delete", "containerd.events.TaskDelete"},
      {"/tasks/exec-added", "containerd.events.TaskExecAdded"},
      {"/tasks/exec-started", "containerd.events.TaskExecStarted"},
      {"/tasks/paused", "containerd.events.TaskPaused"},
      {"/tasks/resumed", "containerd.events.TaskResumed"},
      {"/tasks/oom", "containerd.events.TaskOOM"},
  };
  for (const auto& [t, type] : kTypes) {
    if (topic == t) return type;
  }
  return nullptr;
}

}  // namespace

Publisher::Publisher(std::string ttrpc_address, std::string ns)
    : address_(std::move(ttrpc_address)), ns_(std::move(ns)) {
  // Without containerd's address (peapodd runs the shim with
  // -publish-binary "" and no TTRPC_ADDRESS) events are dropped: no thread.
  if (!address_.empty()) thread_ = std::thread([this] { Loop(); });
}

Publisher::~Publisher() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    cv_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void Publisher::Publish(const std::string& topic, const google::protobuf::MessageLite& event) {
  const char* type = EventType(topic);
  if (address_.empty() || type == nullptr) return;
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  Item item{topic, type, event.SerializeAsString(), ts.tv_sec, static_cast<int32_t>(ts.tv_nsec)};
  std::lock_guard lock(mu_);
  if (queue_.size() >= kMaxQueued) queue_.pop_front();  // containerd gone for long: drop oldest
  queue_.push_back(std::move(item));
  cv_.notify_all();
}

bool Publisher::Send(const Item& item) {
  containerd::services::events::ttrpc::v1::ForwardRequest req;
  auto* env = req.mutable_envelope();
  env->mutable_timestamp()->set_seconds(item.seconds);
  env->mutable_timestamp()->set_nanos(item.nanos);
  env->set_namespace_(ns_);
  env->set_topic(item.topic);
  env->mutable_event()->set_type_url(item.type_url);
  env->mutable_event()->set_value(item.value);
  if (!client_ || !client_->connected()) {
    auto c = ttrpc::Client::Dial(address_);
    if (!c.ok()) return false;
    client_ = std::move(*c);
  }
  absl::Status s = client_->Call("containerd.services.events.ttrpc.v1.Events", "Forward", req,
                                 nullptr, std::chrono::seconds(5));
  return s.ok();
}

void Publisher::Loop() {
  for (;;) {
    Item item;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      item = std::move(queue_.front());
      queue_.pop_front();
    }
    for (int attempt = 0; attempt < kAttempts && !Send(item); ++attempt) {
      client_.reset();
      std::unique_lock lock(mu_);
      if (stopping_) break;
      cv_.wait_for(lock, std::chrono::milliseconds(100 << attempt), [this] { return stopping_; });
    }
  }
}

}  // namespace peapod::shim
