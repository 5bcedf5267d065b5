#include "message-service/direct_bus.h"

namespace relay {

DirectBus::DirectBus(std::string notify_url, std::string token,
                     NotifyClient::MembershipSource memberships)
    : notify_url_(std::move(notify_url)),
      token_(std::move(token)),
      memberships_(std::move(memberships)),
      forwarder_client_(notify_url_, token_, memberships_) {}

bool DirectBus::send(const std::vector<Message>& batch, std::string* error) {
  return forwarder_client_.send(batch, error);
}

bool DirectBus::send_transient(const Message& event, std::string* error) {
  NotifyClient client(notify_url_, token_, memberships_);
  return client.send({event}, error);
}

bool DirectBus::send_memberships(std::string* error) {
  NotifyClient client(notify_url_, token_, memberships_);
  return client.send_memberships(error);
}

bool DirectBus::reachable(int timeout_ms) {
  return probe_notify_service(notify_url_, timeout_ms);
}

}  // namespace relay
