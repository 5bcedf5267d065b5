#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "notify-service/http_request.h"
#include "notify-service/stream_session.h"
#include "shared/http_rules.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace relay {

/// What a route answers: a whole response, or an SSE stream that the server then writes.
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;
  /// When set, the answer is `200 text/event-stream` (chunked) and the server writes this
  /// session's chunks for as long as the stream lasts.
  std::shared_ptr<StreamSession> stream;

  /// A JSON answer.
  static HttpReply json(int status, const nlohmann::json& body);
  /// The {"error", "detail"} answer of an ApiError.
  static HttpReply error(const ApiError& error);
};

/// notify-service's HTTP server: a few threads (one per core by default) each run an epoll loop
/// over their share of the connections, reading requests, answering them and writing SSE streams,
/// so an open stream costs a few hundred bytes instead of a thread, and one broadcast is written
/// by every core at once. A stream is written when its subscriber signals events (wake()), on
/// heartbeat ticks, and when its socket drains; each write carries everything queued for it.
/// A stream that must replay message-service's history is written by a short-lived worker thread
/// until it is live, one page in flight at a time.
///
/// Shared behaviour, as in message-service: CORS headers and preflight answers, JSON 404 / 405 /
/// 413 / 500, keep-alive with an idle timeout, one log line and request metrics per request
/// (streams are logged when they open). Handlers run on the loop thread and must not block.
class EventServer {
 public:
  struct Options {
    const RouteTable* routes = nullptr;
    MetricsRegistry* metrics = nullptr;
    const Logger* logger = nullptr;
    HttpRequestLimits limits;
    /// An idle keep-alive connection is closed after this long.
    std::chrono::milliseconds keep_alive_timeout{5000};
    /// A request whose head or body is still incomplete after this long is dropped.
    std::chrono::milliseconds request_timeout{10000};
    /// A stream whose socket has accepted nothing for this long is closed (its reader is gone
    /// without closing, or stopped reading while nothing new was published).
    std::chrono::milliseconds stalled_stream_timeout{60000};
    /// Event-loop threads (at most 16).
    size_t threads = 2;
  };
  /// Answers a request whose route and method are known (the server answers the rest).
  using Handler = std::function<HttpReply(const HttpRequest&)>;
  /// Called once when a stream ends, whatever the reason.
  using StreamEnded = std::function<void(const StreamSession&)>;

  EventServer(Options options, Handler handler, StreamEnded stream_ended);
  ~EventServer();
  EventServer(const EventServer&) = delete;
  EventServer& operator=(const EventServer&) = delete;

  /// Binds `host:port` (0 picks a free port) and starts the loop. Returns the bound port, or -1
  /// when the address cannot be bound.
  int start(const std::string& host, int port);
  /// Ends every stream with the chunked terminator, closes every connection and joins the loop
  /// and any history workers. Idempotent.
  void stop();

  /// Tells the loop that the stream on connection `connection_id` has something to write (or has
  /// ended). Thread-safe and cheap: the hub calls it for each subscriber it queues events for.
  /// Valid between start() and stop().
  void wake(uint64_t connection_id);

 private:
  class Loop;
  const Options options_;
  const Handler handler_;
  const StreamEnded stream_ended_;
  int listen_fd_ = -1;
  std::vector<std::unique_ptr<Loop>> loops_;
};

}  // namespace relay
