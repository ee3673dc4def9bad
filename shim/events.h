// Publishes task events to containerd the way its own shims do: a ttrpc
// call containerd.services.events.ttrpc.v1.Events/Forward on containerd's
// ttrpc socket (TTRPC_ADDRESS), carrying an Envelope whose event is an Any
// with the message's full name as type URL ("containerd.events.TaskExit").
// Events go out in order from one thread, so handlers never wait on them.
#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "google/protobuf/message_lite.h"
#include "shim/ttrpc/client.h"

namespace peapod::shim {

class Publisher {
 public:
  // ttrpc_address: containerd's ttrpc socket ("" = drop events).
  Publisher(std::string ttrpc_address, std::string ns);
  // Sends what is queued (briefly) and stops.
  ~Publisher();
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  // Queues an event for a containerd task topic ("/tasks/exit"); events of
  // other topics are dropped.
  void Publish(const std::string& topic, const google::protobuf::MessageLite& event);

 private:
  struct Item {
    std::string topic, type_url, value;
    int64_t seconds;
    int32_t nanos;
  };
  void Loop();
  bool Send(const Item& item);

  std::string address_, ns_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Item> queue_;
  bool stopping_ = false;
  std::unique_ptr<ttrpc::Client> client_;
  std::thread thread_;
};

}  // namespace peapod::shim
