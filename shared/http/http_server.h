#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "shared/http/cors_policy.h"
#include "shared/http/http_request.h"
#include "shared/http/router.h"
#include "shared/http/static_files.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace relay {

/// The limits and sizes of an HttpServer; every one has a name and a default (README, Limits).
struct HttpServerLimits {
  HttpRequestLimits request;
  /// A request head must be complete this long after its first byte, however steadily it drips
  /// (REQUEST_HEADER_TIMEOUT); answered 408 and closed.
  std::chrono::milliseconds header_timeout{10000};
  /// A body must be complete this long after its head (REQUEST_BODY_TIMEOUT); 408 and closed.
  std::chrono::milliseconds body_timeout{10000};
  /// An idle keep-alive connection is closed after this long (KEEP_ALIVE_SECONDS).
  std::chrono::milliseconds keep_alive_timeout{5000};
  /// A stream or answer whose socket has accepted nothing for this long is closed (its reader is
  /// gone without closing, or stopped reading).
  std::chrono::milliseconds stalled_write_timeout{60000};
  /// Open connections per process (MAX_CONNECTIONS); one more is answered 503 and closed at once.
  size_t max_connections = 19000;
  /// Idle keep-alive connections kept (MAX_IDLE_CONNECTIONS); past it the oldest idle one closes
  /// (0: each closes at the tick after its answer).
  size_t max_idle_connections = 4096;
};

/// One HTTP/1.1 server for both services: a few event-loop threads (one per core by default), each
/// owning its share of the connections, reading requests, answering them and writing streams, so
/// an open connection costs a few hundred bytes instead of a thread. The server owns every concern
/// common to routes: the strict parser and its limits, 404 / 405 / OPTIONS preflight / CORS,
/// per-route body limits and head checks before any body byte is read, JSON 500 for an escaped
/// exception, one access-log line and request metrics per request (not for /health, /metrics),
/// static files, pipelined requests answered in order, and a bounded worker pool for routes that
/// block. Handlers see plain HttpRequest / HttpReply values, never a socket.
///
/// Thread-safety: start() and stop() from one owning thread; wake() from any thread.
class HttpServer {
 public:
  struct Options {
    const Router* router = nullptr;             // must outlive the server
    MetricsRegistry* metrics = nullptr;         // must outlive the server
    const Logger* logger = nullptr;             // must outlive the server
    const StaticFiles* static_files = nullptr;  // optional: GET/HEAD fallback for unrouted paths
    /// Which pages may read answers across origins (every answer but routes with cors == false).
    CorsPolicy cors;
    HttpServerLimits limits;
    size_t loop_threads = 2;         // event loops (1 to 16)
    size_t worker_threads = 4;       // the blocking-work pool
    size_t max_queued_work = 10000;  // blocking tasks waiting at once; past it: 503 busy
    /// Peers whose X-Forwarded-For names the client (see client_address): request.remote_addr,
    /// the access log and every per-address limit then use that address.
    std::vector<std::string> trusted_proxies;
  };

  explicit HttpServer(Options options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  /// Binds `host:port` (0 picks a free port) and starts the loops and workers. Returns the bound
  /// port, or -1 when the address cannot be bound. `on_bound`, when given, is called with the port
  /// on the calling thread after the socket listens and before any request is served (the services
  /// log their `listening` line there, so it precedes every access-log line).
  int start(const std::string& host, int port, const std::function<void(int port)>& on_bound = {});
  /// Ends every stream with the chunked terminator, closes every connection, drops answers still
  /// pending, and joins loops and workers. Idempotent.
  void stop();

  /// Tells the loop that the stream on connection `connection_id` has something to write (or has
  /// ended). Thread-safe and cheap. Valid between start() and stop(); ignored for unknown ids.
  void wake(uint64_t connection_id);

 private:
  class Loop;
  struct Shared;
  std::shared_ptr<Shared> shared_;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace relay
