#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "shared/http_rules.h"
#include "shared/validation.h"

namespace relay {

/// A response body the server pulls from for as long as the connection lasts: an SSE stream. The
/// server knows nothing of what it carries; it frames what pull() returns as chunks and writes
/// them. Wake the server (HttpServer::wake) when pull() would return something new.
class StreamSource {
 public:
  virtual ~StreamSource() = default;
  /// The next bytes to write: empty when nothing is ready now (the server calls again when woken,
  /// when the socket drained, and on its ticks, so a source can send heartbeats), nullopt when the
  /// stream is over. Called by one thread at a time: the connection's loop, or a worker of the
  /// pool while blocking() is true.
  virtual std::optional<std::string> pull() = 0;
  /// True while pull() may block (a history replay): the server then calls it on its worker pool,
  /// one call in flight at a time, each result written before the next call.
  virtual bool blocking() const { return false; }
  /// True when the source gave up on a reader that does not keep up: the server closes the
  /// connection without writing what is still unsent. Thread-safe.
  virtual bool cut() const { return false; }
  /// Called once, on the connection's loop, when the connection has closed (for any reason).
  virtual void closed() {}
};

/// What a route answers: a whole response, an SSE stream, "later" (a Responder answers), or "the
/// rest on the pool" (a loop route that found it must block after all).
struct HttpReply {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  HeaderList headers;
  /// When set, the answer is `200 text/event-stream` (chunked on HTTP/1.1) and the server writes
  /// what this source gives for as long as the stream lasts.
  std::shared_ptr<StreamSource> stream;
  /// Set by later(): the route keeps the Responder and answers from another thread.
  bool deferred = false;
  /// Set by on_pool(): the server runs this on its worker pool and answers what it returns. For a
  /// route that runs on the loop in the common case and must block only in a rare one.
  std::function<HttpReply()> rest_on_pool;

  /// A JSON answer.
  static HttpReply json(int status, const nlohmann::json& body);
  /// The {"error", "detail"} answer of an ApiError.
  static HttpReply error(const ApiError& error);
  /// A plain-text answer with `content_type`.
  static HttpReply text(int status, std::string body, std::string content_type);
  /// "The Responder will answer": returned by async handlers.
  static HttpReply later();
  /// "Answer what `rest` returns, run on the worker pool": returned by a non-blocking route when
  /// the request needs blocking work (503 busy when the pool's queue is full). `rest` must not
  /// answer on_pool() again.
  static HttpReply on_pool(std::function<HttpReply()> rest);
};

/// The reason phrase of a status code ("Unknown" for codes we never send).
const char* reason_phrase(int status);

/// True when `value` may go into a response header: no CR, LF, NUL or other control byte but
/// HTAB. The server drops (and logs) headers that fail this rather than send them.
bool is_safe_header_value(std::string_view value);

}  // namespace relay
