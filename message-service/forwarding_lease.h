#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "message-service/pg_connection.h"
#include "shared/logfmt.h"

namespace relay {

/// Which of the message-service instances sharing one PostgreSQL store forwards (STORE=postgres):
/// the one holding a session advisory lock on a connection of its own. PostgreSQL releases the
/// lock when that session ends, so when the holder dies (kill -9, a lost network) another
/// instance's next attempt, at most kRetry later, takes it. The holder LISTENs on relay_events, on
/// which every transaction that stored an event notifies, so it forwards what any instance stored
/// at once. A holder that loses its connection stops leading before it tries again.
///
/// The lease keeps one forwarder busy, not correctness alone: two leaders for a moment (one that
/// has not noticed yet it lost its session) each send in id order from the stored cursor, and the
/// Redis stream refuses ids at or below its newest, so nothing reaches the bus twice.
///
/// Threads: its own thread runs the lock, the LISTEN and `on_change`/`on_news`; start() and stop()
/// from the owner's thread.
class ForwardingLease {
 public:
  /// `on_change(true)` when this instance became the leader, `(false)` when it stopped being one;
  /// `on_news()` when an event was stored (by any instance) while leading. Both quick.
  ForwardingLease(std::string url, std::function<void(bool leading)> on_change,
                  std::function<void()> on_news, const Logger& logger);
  ~ForwardingLease();
  ForwardingLease(const ForwardingLease&) = delete;
  ForwardingLease& operator=(const ForwardingLease&) = delete;

  void start();
  /// Stops trying, and releases the lease if held (the session closes).
  void stop();
  bool held() const { return held_.load(); }

  /// How often a standby tries to take the lease, and how often the holder checks its session.
  static constexpr int kRetryMs = 1000;
  /// The advisory lock's key: "relay" 2 (the schema lock is "relay" 1).
  static constexpr int64_t kLockKey = 0x72656c6179000002;

 private:
  void run();
  /// Takes the lock and LISTENs; true when now held.
  bool try_take();
  /// While held: waits up to kRetryMs for notifications (then checks the session); false when the
  /// session is lost.
  bool keep();
  /// Waits `ms` or until stop().
  void pause(int ms);

  PgConnection connection_;  // the lease thread's only
  std::function<void(bool)> on_change_;
  std::function<void()> on_news_;
  const Logger& logger_;
  int wake_fd_ = -1;  // an eventfd: stop() makes the thread's waits return
  std::atomic<bool> stopping_{false};
  std::atomic<bool> held_{false};
  std::thread thread_;
};

}  // namespace relay
