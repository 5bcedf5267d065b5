#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/message.h"
#include "shared/private_channels.h"

namespace httplib {
class Client;
}

namespace relay {

/// The outbound HTTP connection to notify-service's POST /notify and PUT /notify/memberships, kept
/// alive between calls. Not thread-safe: one instance per calling thread (the forwarder has one).
///
/// Private channels: with a `memberships` source, every batch names the version of the private
/// channel table it was sent under (header Memberships-Version). notify-service refuses a batch
/// (409 memberships_stale) unless it holds that very version, so it never fans out an event of a
/// private channel under an older table (a new private channel's first message to everyone, a
/// removed member still served); on that refusal the client sends the current table and the batch
/// again, once.
class NotifyClient {
 public:
  using MembershipSource = std::function<PrivateChannelsPtr()>;

  /// `base_url` like http://127.0.0.1:8081; `token` is sent as a Bearer token when non-empty.
  NotifyClient(const std::string& base_url, std::string token, MembershipSource memberships = {});
  ~NotifyClient();
  NotifyClient(const NotifyClient&) = delete;
  NotifyClient& operator=(const NotifyClient&) = delete;

  /// POSTs the batch as a JSON array; true on a 2xx answer, else false with the reason.
  bool send(const std::vector<Message>& batch, std::string* error);
  /// PUTs the current private channel table; true on a 2xx answer.
  bool send_memberships(std::string* error);

 private:
  /// One POST /notify: 1 acknowledged, 0 refused as stale, -1 failed (`*error` set).
  int post_batch(const std::string& body, int64_t version, std::string* error);
  bool put_memberships(const PrivateChannels& table, std::string* error);

  std::unique_ptr<httplib::Client> client_;
  std::string token_;
  MembershipSource memberships_;
};

/// True when notify-service's GET /health answers 200 within `timeout_ms`. Any thread.
bool probe_notify_service(const std::string& base_url, int timeout_ms);

}  // namespace relay
