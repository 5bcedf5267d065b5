#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "message-service/store.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace relay {

/// Hands stored messages to notify-service, in id order, at least once. It wakes as soon as a
/// message is stored (no polling delay), sends everything waiting in batches, and only after a
/// batch is acknowledged moves its cursor, so a crash or an unreachable notify-service loses
/// nothing: unacknowledged batches are retried with exponential backoff, and after a restart
/// forwarding resumes from the stored cursor. The cursor is stored at most every
/// `cursor_save_ms` (and when forwarding stops), not per batch, so it does not cost the inserts an
/// fsync per message; a crash re-sends at most that much, which notify-service drops as already
/// seen. A batch that follows the cursor without a gap is taken from the messages committed()
/// handed over; anything else (a gap, a restart, a failed send) is read from the store, which
/// stays the one source of truth. Runs on its own thread.
class Forwarder {
 public:
  /// Delivers one batch; returns true when notify-service acknowledged it, else false and a
  /// reason in `*error`. Called only from the forwarder's thread.
  using SendBatch = std::function<bool(const std::vector<Message>& batch, std::string* error)>;

  struct Options {
    size_t batch_size = 256;
    /// Content bytes per batch: well under notify-service's default 1 MiB per-stream backlog cap.
    size_t batch_bytes = 256 * 1024;
    int retry_initial_ms = 50;
    int retry_max_ms = 5000;
    int cursor_save_ms = 100;
    /// Who acknowledges batches, for the logs: "notify-service" or "Redis".
    std::string target = "notify-service";
    /// False with several message-service instances on one store: this one forwards only once
    /// set_leading(true) says it holds the forwarding lease (ForwardingLease).
    bool starts_leading = true;
  };

  Forwarder(MessageStore& store, SendBatch send, Options options, const Logger& logger,
            MetricsRegistry& metrics);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  /// Starts the thread; it first reads the stored cursor (retrying while the store fails).
  void start();
  /// Stops the thread; a batch in flight is abandoned unacknowledged and resent next time.
  void stop();
  /// Tells the forwarder a message was stored. Cheap (an atomic increment; it signals the thread
  /// only when the thread is idle, waiting for news); any thread.
  void wake();
  /// wake(), handing over a copy of the message just committed (in id order, as the store's
  /// commit thread answers them), so that a batch starting right after the cursor is taken from
  /// memory instead of read back from the store. Only ids that follow each other without a gap
  /// are taken so (a receipt committed elsewhere leaves one: the store is read then); at most
  /// kMaxRecentBytes of content are kept, the oldest dropped first. Any thread.
  void committed(const Message& message);
  static constexpr size_t kMaxRecentBytes = 4 << 20;

  /// Whether this forwarder may send (it holds the forwarding lease, or there is no other). While
  /// not leading it sends nothing; on becoming leader it first reads the stored cursor again (the
  /// previous leader moved it), and saves its own when it stops leading. Any thread.
  void set_leading(bool leading);
  bool leading() const { return leading_.load(); }

  /// Messages stored but not yet acknowledged by notify-service; nullopt while the store cannot
  /// be read (or the cursor was not read yet). On a standby, counted from the stored cursor (the
  /// leader's). Any thread; reads the store.
  std::optional<int64_t> backlog();
  /// Whether the last delivery attempt succeeded (true before any attempt).
  bool last_attempt_ok() const { return last_attempt_ok_.load(); }

 private:
  void run();
  /// Reads the stored cursor into `cursor_`, retrying with backoff while the store fails. False
  /// when stopped first.
  bool load_cursor();
  /// Waits while not leading (saving an unsaved cursor first); true when leading again, with the
  /// cursor reloaded, false when stopped.
  bool wait_for_lease(int64_t* saved_cursor);
  /// Waits until stopped or `timeout_ms` passed (-1: no timeout); with `until_news`, also until
  /// a wake() after `seen_wakes`.
  void wait(uint64_t seen_wakes, int timeout_ms, bool until_news);
  /// Stores the cursor durably.
  void save_cursor();
  /// The next batch from what committed() handed over, if it starts at `cursor` + 1; else empty.
  std::vector<Message> take_recent(int64_t cursor);

  MessageStore& store_;
  SendBatch send_;
  Options options_;
  const Logger& logger_;
  Counter& forwarded_;
  Counter& errors_;
  Counter& batches_;

  std::mutex mutex_;
  std::condition_variable wakeup_;
  bool stopping_ = false;  // guarded by mutex_
  // wake() counts here, then signals only while `idle_`; the thread sets `idle_` before checking
  // `wakes_` under mutex_, so (both sequentially consistent) a wake-up is never missed.
  std::atomic<uint64_t> wakes_{0};
  std::atomic<bool> idle_{false};
  std::atomic<int64_t> cursor_{-1};  // -1 until load_cursor() read it
  std::atomic<bool> last_attempt_ok_{true};
  std::atomic<bool> leading_{true};  // written under mutex_ (its waits watch it)
  std::mutex recent_mutex_;
  std::deque<Message> recent_;  // guarded by recent_mutex_: committed, ascending ids
  size_t recent_bytes_ = 0;     // guarded by recent_mutex_: content bytes in recent_
  std::thread thread_;
};

}  // namespace relay
