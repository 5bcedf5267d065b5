#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <optional>
#include <string_view>

#include "notify-service/config.h"
#include "notify-service/hub.h"
#include "notify-service/id_guard.h"
#include "notify-service/presence.h"
#include "notify-service/stream_quota.h"
#include "notify-service/stream_session.h"
#include "notify-service/used_tickets.h"
#include "shared/auth/request_auth.h"
#include "shared/http/router.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace relay {

/// The checks of POST /notify that need only the request head, so a server can run them before
/// reading the body: a request carrying `Origin` is a browser's (403 `forbidden`: /notify is not
/// for browsers, whatever the credential); a Content-Type other than application/json is 415
/// `unsupported_media_type`; with NOTIFY_TOKEN set, `Authorization: Bearer <token>` must match
/// (compared in constant time; else 401 with `WWW-Authenticate: Bearer`); without a token only
/// loopback peers may call (403). Returns the refusal, or nullopt to go on. Pure and cheap: any
/// thread, never blocks.
std::optional<HttpReply> check_notify_head(const HttpRequest& head,
                                           const NotifyServiceConfig& config);

/// notify-service's HTTP API, independent of the server that carries it: GET /events opens a
/// StreamSession (the server writes it) and tells the presence tracker, POST /notify publishes
/// messages and receipts into the hub (typing as transient events), GET /presence, /health and
/// /metrics. Holds references only; everything it points to must outlive the server. Thread-safe
/// (the server's loop threads call it).
class NotifyRoutes {
 public:
  /// `wake_stream(connection_id)` tells the server a stream has events to write.
  /// `store_last_id` reads message-service's newest id for POST /notify ids far above the hub's
  /// (see IdGuard); empty: such ids are answered 503 `store_unreachable`.
  /// With `authenticator` (AUTH_MODE=accounts) GET /events and /presence need an access token,
  /// a stream is its caller's, and streams are limited per user and per address (429; over every
  /// instance when set_cluster gave acquire_stream). GET /events also takes a stream ticket
  /// (`?ticket=`, see admit_stream); no other route does.
  /// Private channels: PUT /notify/memberships (message-service's credential, as POST /notify) sets
  /// the hub's table; a stream or /presence naming a private channel its caller is not in is 404,
  /// and a POST /notify batch made under another table version is 409 memberships_stale.
  NotifyRoutes(const NotifyServiceConfig& config, Hub& hub, PresenceTracker& presence,
               HistoryFetch fetch_history, std::function<void(uint64_t)> wake_stream,
               MetricsRegistry& metrics, const Logger& logger, StoreLastIdFetch store_last_id = {},
               const RequestAuthenticator* authenticator = nullptr);

  /// Adds the service's routes to `router` (the server answers 404 / 405 / OPTIONS from it). The
  /// routes call this object: it must outlive the server.
  void add_routes(Router& router);
  /// BROKER=redis: what the routes ask of the cluster (set before add_routes).
  struct Cluster {
    std::string instance;             // this instance's id, shown by /health
    std::function<bool()> connected;  // whether the Redis feed is connected
    std::function<std::vector<std::string>(const std::optional<std::string>&)>
        present_users;  // GET /presence over every instance
    /// A stream ticket's first use cluster-wide (ClusterTickets::claim); unset in open mode.
    std::function<std::optional<bool>(const std::string& id, int64_t ttl_ms)> claim_ticket;
    /// The stream limits over every instance (ClusterStreamQuota), asked after this instance's
    /// own StreamQuota granted; unset in open mode.
    std::function<StreamQuota::Verdict(const std::string& user, const std::string& address)>
        acquire_stream;
    std::function<void(const std::string& user, const std::string& address)> release_stream;
  };
  void set_cluster(Cluster cluster) { cluster_ = std::move(cluster); }
  /// Releases what a stream held once the server has closed it.
  void stream_ended(const StreamSession& session);

 private:
  /// The head check of GET /events in AUTH_MODE=accounts: with a `ticket` parameter the ticket
  /// alone decides (verified with the key, then spent: a second use, like a forged or expired
  /// ticket, is 401 `unauthenticated`; 503 while UsedTickets is full); without one, the access
  /// token as on every route.
  std::optional<HttpReply> admit_stream(HttpRequest& head);
  HttpReply open_stream(const HttpRequest& req);
  /// Counts a signed-in caller's stream on this instance, then (BROKER=redis) over the cluster.
  StreamQuota::Verdict acquire_stream(const std::string& user, const std::string& address);
  void release_stream(const std::string& user, const std::string& address);
  /// Runs on the loop; hands the batch to the pool only when IdGuard must ask the store.
  HttpReply notify(const HttpRequest& req);
  /// 409 memberships_stale unless the hub holds private channel table `version`.
  std::optional<HttpReply> check_memberships_version(int64_t version);
  /// The rest of POST /notify once the batch is parsed: the id check, then publishing. Blocks
  /// only when IdGuard::needs_store.
  HttpReply publish_batch(std::vector<Message> messages, const std::string& remote);
  HttpReply put_memberships(const HttpRequest& req);
  HttpReply presence(const HttpRequest& req);
  HttpReply health(const HttpRequest& req);

  const NotifyServiceConfig& config_;
  Hub& hub_;
  PresenceTracker& presence_;
  HistoryFetch fetch_history_;
  std::function<void(uint64_t)> wake_stream_;
  MetricsRegistry& metrics_;
  const Logger& logger_;
  const RequestAuthenticator* authenticator_;
  StreamCounters stream_counters_;
  Counter& notified_;
  Counter& duplicates_;
  Counter& typing_;
  Counter& rejected_;
  Counter& implausible_;
  Counter& stale_memberships_;
  Counter& streams_limited_;
  Counter& tickets_refused_;
  IdGuard id_guard_;
  StreamQuota quota_;
  UsedTickets used_tickets_;
  std::atomic<uint64_t> next_client_number_{1};
  std::optional<Cluster> cluster_;  // BROKER=redis only
};

}  // namespace relay
