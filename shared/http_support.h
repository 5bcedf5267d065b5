#pragma once

// The HTTP plumbing both services share. With the services' routes files and outbound clients,
// this is the only code that includes httplib.h; everything else is plain C++.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "shared/http_rules.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"
#include "shared/validation.h"

namespace relay {

/// cpp-httplib's worker "pool" for a server whose connections may live for hours (SSE streams,
/// keep-alive): one thread per connection, created on demand, so an open stream never starves
/// other requests the way the library's fixed 8-thread pool does. shutdown() joins every thread.
class ThreadPerConnectionQueue : public httplib::TaskQueue {
 public:
  ThreadPerConnectionQueue() = default;
  ~ThreadPerConnectionQueue() override;
  ThreadPerConnectionQueue(const ThreadPerConnectionQueue&) = delete;
  ThreadPerConnectionQueue& operator=(const ThreadPerConnectionQueue&) = delete;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void join_finished_locked();

  std::mutex mutex_;
  std::condition_variable all_done_;
  std::list<std::thread> threads_;             // guarded by mutex_
  std::vector<std::thread::id> finished_ids_;  // guarded by mutex_
  size_t running_ = 0;                         // guarded by mutex_
};

/// What configure_server needs to know about the service it wires up.
struct HttpServerOptions {
  const RouteTable* routes = nullptr;
  MetricsRegistry* metrics = nullptr;
  const Logger* logger = nullptr;
  size_t max_body_bytes = 1 << 20;
  int keep_alive_timeout_seconds = 1;
  int write_timeout_seconds = 5;
};

/// Applies the behaviour every route shares: thread-per-connection workers, timeouts, a body size
/// limit (413 before the body is read), CORS headers and OPTIONS preflight answers, JSON bodies for
/// 404 / 405 / 413 / 500, one logfmt line per request (not /health or /metrics) and request
/// metrics. The options' pointers must outlive the server.
void configure_server(httplib::Server& server, const HttpServerOptions& options);

/// Sets a JSON response body and status.
void send_json(httplib::Response& res, int status, const nlohmann::json& body);
/// Sets the {"error", "detail"} body and status of an ApiError.
void send_error(httplib::Response& res, const ApiError& error);

/// Adds the CORS headers for a response to `req` (echoing its Origin when it has one).
void add_cors_headers(const httplib::Request& req, httplib::Response& res);

/// Runs a configured server on a background thread.
class BackgroundServer {
 public:
  explicit BackgroundServer(httplib::Server& server) : server_(server) {}
  ~BackgroundServer() { stop(); }
  BackgroundServer(const BackgroundServer&) = delete;
  BackgroundServer& operator=(const BackgroundServer&) = delete;

  /// Binds `host:port` (port 0 picks a free one) and starts serving. Returns the bound port, or
  /// -1 when the address cannot be bound.
  int start(const std::string& host, int port);
  /// Stops accepting, closes idle connections and joins every worker. Idempotent.
  void stop();

 private:
  httplib::Server& server_;
  int listening_fd_ = -1;
  std::thread thread_;
};

}  // namespace relay
