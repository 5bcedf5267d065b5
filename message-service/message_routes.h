#pragma once

#include "message-service/channel_directory.h"
#include "message-service/config.h"
#include "message-service/event_bus.h"
#include "message-service/forwarder.h"
#include "message-service/shared_rate_limiter.h"
#include "message-service/store.h"
#include "shared/auth/request_auth.h"
#include "shared/http/router.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace relay {

/// The security headers of every chat-page response: a Content-Security-Policy allowing scripts
/// and connections only from the page's own origin and notify-service's (PUBLIC_NOTIFY_URL, else
/// the page's host on notify-service's port; never inline scripts), no framing, no referrer.
HeaderList page_security_headers(const MessageServiceConfig& config, const HttpRequest& request);

/// 503 store_unavailable for a request whose store read failed; logs the store's reason (the
/// client only learns that it may retry).
HttpReply store_unavailable(const Logger& logger, const char* what, const std::string& error);

/// message-service's HTTP API, independent of the server that carries it: validates requests,
/// calls the store and wakes the forwarder; passes typing notices (rate-limited per user) straight
/// to notify-service. POST /messages answers later, when the store's group commit holding the
/// message completed; store reads and outbound calls run as blocking routes (on the server's
/// worker pool); the rest answer on the loop. With an `authenticator` (AUTH_MODE=accounts) every
/// route but /health, /metrics and /config.json needs an access token, checked from the head, and
/// everything is done and read as its caller. Private channels (ChannelDirectory) are invisible to
/// non-members on every route here: posting, history, the log, one message, receipts, typing
/// answer 404 as for a channel that does not exist, and reads over every channel leave them out.
/// With `cluster` (STORE=postgres) the per-user limits hold across instances (SharedRateLimiter).
/// Holds references only; everything it points to must outlive the server. Thread-safe (loops,
/// workers and the store's commit thread call it).
class MessageRoutes {
 public:
  MessageRoutes(const MessageServiceConfig& config, MessageStore& store, Forwarder& forwarder,
                EventBus& bus, ChannelDirectory& channels, MetricsRegistry& metrics,
                const Logger& logger, const RequestAuthenticator* authenticator = nullptr,
                ClusterLimits* cluster = nullptr);

  /// Adds the service's routes to `router`.
  void add_routes(Router& router);

 private:
  void post_message(HttpRequest& req, Responder responder);
  HttpReply list_messages(HttpRequest& req);
  HttpReply read_log(HttpRequest& req);
  HttpReply get_message(HttpRequest& req);
  HttpReply post_receipt(HttpRequest& req);
  HttpReply post_typing(HttpRequest& req);
  HttpReply health(HttpRequest& req);
  /// Makes `filter` leave out the private channels its reader is not in; a 404 when it names one.
  std::optional<HttpReply> hide_private(MessageFilter* filter) const;
  /// A 503 when the channel directory cannot be brought up to every instance's changes
  /// (ChannelDirectory::sync); call first in a route that decides what a user may see.
  std::optional<HttpReply> sync_directory();
  HttpReply client_config(HttpRequest& req);

  const MessageServiceConfig& config_;
  MessageStore& store_;
  Forwarder& forwarder_;
  EventBus& bus_;
  ChannelDirectory& channels_;
  MetricsRegistry& metrics_;
  const Logger& logger_;
  const RequestAuthenticator* authenticator_;
  Counter& stored_;
  Counter& idempotent_replays_;
  Counter& receipts_stored_;
  Counter& typing_sent_;
  Counter& typing_limited_;
  Counter& posts_limited_;
  /// Posts per signed-in user (AUTH_MODE=accounts only: in open mode a name is anyone's).
  SharedRateLimiter post_limiter_;
  /// Typing notices per user: a burst of 5, then 5 a second.
  SharedRateLimiter typing_limiter_;
};

}  // namespace relay
