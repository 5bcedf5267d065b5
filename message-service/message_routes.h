#pragma once

#include "message-service/config.h"
#include "message-service/forwarder.h"
#include "message-service/rate_limiter.h"
#include "message-service/store.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace httplib {
class Server;
}

namespace relay {

class RouteTable;

/// message-service's HTTP API: validates requests, calls the store and wakes the forwarder;
/// passes typing notices (rate-limited per user) straight to notify-service.
/// Holds references only; everything it points to must outlive the server it is attached to.
class MessageRoutes {
 public:
  MessageRoutes(const MessageServiceConfig& config, MessageStore& store, Forwarder& forwarder,
                MetricsRegistry& metrics, const Logger& logger);

  /// The routes, for 404/405 answers, CORS preflight and metrics labels.
  static const RouteTable& table();

  /// Registers every handler and mounts www/ on `server`. Returns false when www/ could not be
  /// mounted (the API still works).
  bool attach(httplib::Server& server);

 private:
  const MessageServiceConfig& config_;
  MessageStore& store_;
  Forwarder& forwarder_;
  MetricsRegistry& metrics_;
  const Logger& logger_;
  Counter& stored_;
  Counter& idempotent_replays_;
  Counter& receipts_stored_;
  Counter& typing_sent_;
  Counter& typing_limited_;
  /// Typing notices per user: a burst of 5, then 5 a second.
  RateLimiter typing_limiter_{5, 5};
};

}  // namespace relay
