#pragma once

#include <atomic>
#include <cstdint>
#include <functional>

#include "notify-service/config.h"
#include "notify-service/hub.h"
#include "notify-service/presence.h"
#include "notify-service/stream_session.h"
#include "shared/http/router.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace relay {

/// notify-service's HTTP API, independent of the server that carries it: GET /events opens a
/// StreamSession (the server writes it) and tells the presence tracker, POST /notify publishes
/// messages and receipts into the hub (typing as transient events), GET /presence, /health and
/// /metrics. Holds references only; everything it points to must outlive the server. Thread-safe
/// (the server's loop threads call it).
class NotifyRoutes {
 public:
  /// `wake_stream(connection_id)` tells the server a stream has events to write.
  NotifyRoutes(const NotifyServiceConfig& config, Hub& hub, PresenceTracker& presence,
               HistoryFetch fetch_history, std::function<void(uint64_t)> wake_stream,
               MetricsRegistry& metrics, const Logger& logger);

  /// Adds the service's routes to `router` (the server answers 404 / 405 / OPTIONS from it). The
  /// routes call this object: it must outlive the server.
  void add_routes(Router& router);
  /// Releases what a stream held once the server has closed it.
  void stream_ended(const StreamSession& session);

 private:
  HttpReply open_stream(const HttpRequest& req);
  HttpReply notify(const HttpRequest& req);
  HttpReply presence(const HttpRequest& req);
  HttpReply health(const HttpRequest& req);

  const NotifyServiceConfig& config_;
  Hub& hub_;
  PresenceTracker& presence_;
  HistoryFetch fetch_history_;
  std::function<void(uint64_t)> wake_stream_;
  MetricsRegistry& metrics_;
  const Logger& logger_;
  StreamCounters stream_counters_;
  Counter& notified_;
  Counter& duplicates_;
  Counter& typing_;
  Counter& rejected_;
  std::atomic<uint64_t> next_client_number_{1};
};

}  // namespace relay
