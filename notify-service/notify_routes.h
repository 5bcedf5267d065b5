#pragma once

#include <atomic>

#include "notify-service/config.h"
#include "notify-service/hub.h"
#include "notify-service/stream_session.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace httplib {
class Server;
}

namespace relay {

class RouteTable;

/// notify-service's HTTP API: GET /events streams (each a StreamSession written by its own
/// connection thread), POST /notify into the hub, /health and /metrics. Holds references only;
/// everything it points to must outlive the server it is attached to.
class NotifyRoutes {
 public:
  NotifyRoutes(const NotifyServiceConfig& config, Hub& hub, HistoryFetch fetch_history,
               MetricsRegistry& metrics, const Logger& logger);

  static const RouteTable& table();
  void attach(httplib::Server& server);

 private:
  const NotifyServiceConfig& config_;
  Hub& hub_;
  HistoryFetch fetch_history_;
  MetricsRegistry& metrics_;
  const Logger& logger_;
  StreamCounters stream_counters_;
  Counter& notified_;
  Counter& duplicates_;
  Counter& rejected_;
  std::atomic<uint64_t> next_client_number_{1};
};

}  // namespace relay
