#pragma once

#include <memory>
#include <string>

#include "message-service/event_bus.h"
#include "message-service/notify_client.h"

namespace relay {

/// BROKER=direct: events go to one notify-service's POST /notify. The forwarder's batches use one
/// kept-alive NotifyClient (its thread only); each transient event makes its own call.
class DirectBus : public EventBus {
 public:
  DirectBus(std::string notify_url, std::string token, NotifyClient::MembershipSource memberships);

  bool send(const std::vector<Message>& batch, std::string* error) override;
  bool send_transient(const Message& event, std::string* error) override;
  bool send_memberships(std::string* error) override;
  bool reachable(int timeout_ms) override;
  const char* name() const override { return "direct"; }
  const char* far_side() const override { return "notify-service"; }

 private:
  std::string notify_url_;
  std::string token_;
  NotifyClient::MembershipSource memberships_;
  NotifyClient forwarder_client_;
};

}  // namespace relay
