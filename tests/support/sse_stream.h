#pragma once

// A reader of one SSE stream (GET /events) as a browser's EventSource would hold it, on its own
// thread: the one raw socket client (raw_socket.h) for the bytes, the one chunked decoder
// (chunked_decoder.h) for the body, and shared/sse.h's SseParser for the events.

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "shared/sse.h"
#include "tests/support/eventually.h"
#include "tests/support/raw_socket.h"

namespace relay::testing {

using Json = nlohmann::json;

/// One `event: message` as a stream reader received it.
struct StreamMessage {
  int64_t id = 0;
  Json data;
};

/// A reader of GET /events on its own thread, speaking raw HTTP/1.1 and feeding the body (chunked,
/// with exact CRLF framing, or Content-Length, or until the close) to SseParser. Records the
/// status, headers, every event, comments and `retry:`. Checks
/// each message event as it arrives (numeric id equal to the data's "id", "type":"message", JSON
/// data) and records violations in problems(). Accessors are thread-safe.
class SseStream {
 public:
  /// Connects to 127.0.0.1:port and sends `GET target` (path and query) with `headers`.
  SseStream(int port, std::string target, httplib::Headers headers = {});
  /// stop()s.
  ~SseStream();
  SseStream(const SseStream&) = delete;
  SseStream& operator=(const SseStream&) = delete;

  /// Asks the reader to disconnect without waiting (to close many streams quickly).
  void request_stop();
  /// Disconnects and joins the reader thread. Idempotent.
  void stop();

  /// Waits for the response head and, for a 200, the `connected` event. True for a 200 that
  /// delivered `connected`.
  bool wait_connected(Millis timeout = kPatience);
  /// Waits until at least `count` message events arrived.
  bool wait_messages(size_t count, Millis timeout = kPatience);
  /// Waits until a message with id >= `id` arrived.
  bool wait_message_id(int64_t id, Millis timeout = kPatience);
  /// Waits until the server ended the stream (or the connection failed).
  bool wait_ended(Millis timeout = kPatience);
  /// Waits until `condition` (which may call this object's accessors) holds.
  bool wait_until(const std::function<bool()>& condition, Millis timeout = kPatience);

  int status() const;
  std::string header(const std::string& name) const;
  /// The body of a non-200 response.
  std::string body() const;
  /// The first 64 KiB of the (de-chunked) body as received.
  std::string raw_prefix() const;
  std::vector<SseEvent> events() const;
  std::vector<StreamMessage> messages() const;
  std::vector<int64_t> message_ids() const;
  size_t message_count() const;
  /// Events whose type is `type`.
  size_t count_events(const std::string& type) const;
  size_t comment_count() const;
  int retry_ms() const;
  bool ended() const;
  /// What went wrong at the transport level ("" if nothing).
  std::string error() const;
  /// Contract violations seen in message events.
  std::vector<std::string> problems() const;
  /// Status, counts, last ids and errors, for failure messages.
  std::string describe() const;

 private:
  void run();
  void on_body(std::string_view bytes);
  void on_event(const SseEvent& event);
  void finish(std::string error);

  int port_;
  std::string target_;
  httplib::Headers request_headers_;
  RawSocket socket_;  // read by the reader thread; shut down by request_stop() from any thread
  std::atomic<bool> stop_requested_{false};
  std::thread reader_;
  SseParser parser_;  // used only by the reader thread

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int status_ = 0;                       // guarded by mutex_
  ResponseHead head_;                    // guarded by mutex_
  bool head_done_ = false;               // guarded by mutex_
  bool connected_ = false;               // guarded by mutex_
  bool ended_ = false;                   // guarded by mutex_
  std::string error_;                    // guarded by mutex_
  std::string body_;                     // guarded by mutex_ (non-200 only)
  std::string raw_prefix_;               // guarded by mutex_
  std::vector<SseEvent> events_;         // guarded by mutex_
  std::vector<StreamMessage> messages_;  // guarded by mutex_
  std::vector<std::string> problems_;    // guarded by mutex_
  size_t comments_ = 0;                  // guarded by mutex_
  int retry_ms_ = -1;                    // guarded by mutex_
};

}  // namespace relay::testing
