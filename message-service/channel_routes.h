#pragma once

#include "message-service/account_store.h"
#include "message-service/channel_directory.h"
#include "message-service/config.h"
#include "message-service/event_bus.h"
#include "message-service/store.h"
#include "shared/auth/request_auth.h"
#include "shared/http/router.h"
#include "shared/logfmt.h"

namespace relay {

/// The channel routes of message-service: GET /channels (the public channels and the caller's
/// private ones), POST /channels (create, public or private), and the members of a private channel
/// (GET / POST /channels/{name}/members, DELETE /channels/{name}/members/{user}). Private channels
/// need AUTH_MODE=accounts (`accounts` set): to anyone but their members they do not exist (404).
/// After a membership change the new table is sent to the notify-services at once (`bus`), so open
/// streams follow it without a reconnect; should that call fail, the forwarder's next batch makes
/// notify-service catch up before it serves anything (see NotifyClient). Holds references only;
/// everything must outlive the server. Thread-safe.
class ChannelRoutes {
 public:
  ChannelRoutes(const MessageServiceConfig& config, MessageStore& store,
                ChannelDirectory& directory, EventBus& bus, AccountStore* accounts,
                const Logger& logger, const RequestAuthenticator* authenticator);

  void add_routes(Router& router);

 private:
  HttpReply list_channels(HttpRequest& req);
  HttpReply create_channel(HttpRequest& req);
  HttpReply list_members(HttpRequest& req);
  HttpReply add_member(HttpRequest& req);
  HttpReply remove_member(HttpRequest& req);
  /// Sends the current private channel table to the notify-services (logs a failure).
  void tell_notify_service();
  /// A 503 when the directory cannot be brought up to every instance's changes.
  std::optional<HttpReply> sync_directory();
  /// The JSON of a channel as the API shows it.
  static nlohmann::json channel_json(const ChannelDirectory::Channel& channel);

  const MessageServiceConfig& config_;
  MessageStore& store_;
  ChannelDirectory& directory_;
  EventBus& bus_;
  AccountStore* accounts_;
  const Logger& logger_;
  const RequestAuthenticator* authenticator_;
};

}  // namespace relay
