#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include <nlohmann/json.hpp>

#include "cli/service_client.h"
#include "shared/sse.h"

namespace relay::cli {

/// One event of the stream, handed to the listener's owner.
struct StreamItem {
  /// The SSE event name: "message", "receipt", "typing", "presence", or another one.
  std::string type;
  nlohmann::json data;
  /// True for a message or receipt fetched from message-service after an `event: reset`.
  bool from_history = false;
};

/// What to follow and how patiently.
struct ListenSettings {
  /// Comma-separated channel names; empty follows every channel.
  std::string channels;
  /// Whose direct messages to receive (and who is present).
  std::string user;
  std::chrono::milliseconds first_retry{250};
  std::chrono::milliseconds max_retry{5000};
  /// A stream silent for this long counts as dropped (notify-service pings every 15 s).
  std::chrono::seconds idle_timeout{45};
};

/// Why run() returned.
struct ListenOutcome {
  enum class End { kStopped, kRefused, kUnreachable };
  End end = End::kStopped;
  /// For kRefused / kUnreachable: the answer (or transport error) of the failed attempt.
  CallResult failure;
};

/// Follows notify-service's GET /events and hands each event to `on_item` exactly once, in id
/// order. When the stream drops it reconnects with exponential backoff (honouring Retry-After)
/// and Last-Event-ID = the id of the last message or receipt handed over, skipping anything at or
/// below it; on `event: reset` it fetches the missed events from message-service itself
/// (GET /log?after=, which has messages and receipts, or GET /messages?after= where /log is
/// missing). `on_notice` gets one-line human remarks (connected, reconnecting,
/// gap fetched) meant for stderr. run() must be called from one thread; stop() from any thread.
class Listener {
 public:
  Listener(ServiceClient& notify, ServiceClient& history, ListenSettings settings,
           std::function<void(const StreamItem&)> on_item,
           std::function<void(const std::string&)> on_notice);
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  /// Blocks until stop() (kStopped), a 4xx refusal of the stream (kRefused), or a first
  /// connection attempt that fails (kUnreachable). Once connected it never gives up.
  ListenOutcome run();
  /// Makes run() return kStopped soon, ending the open stream. Safe from any thread.
  void stop();

  /// The id of the last message or receipt handed over (0 before any).
  int64_t last_id() const { return last_id_; }

 private:
  void on_event(const SseEvent& event);
  void fetch_gap(const nlohmann::json& reset);
  /// Waits `delay` unless stop() is called first; false when stopped.
  bool pause(std::chrono::milliseconds delay);

  ServiceClient& notify_;
  ServiceClient& history_;
  ListenSettings settings_;
  std::function<void(const StreamItem&)> on_item_;
  std::function<void(const std::string&)> on_notice_;

  std::atomic<bool> stopped_{false};
  std::mutex pause_mutex_;
  std::condition_variable pause_wake_;

  // Used only by the thread in run().
  int64_t last_id_ = 0;
  bool connected_ = false;
  bool ever_connected_ = false;
};

}  // namespace relay::cli
