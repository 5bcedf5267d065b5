#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "message-service/pg_connection.h"
#include "shared/logfmt.h"

namespace relay {

/// STORE=postgres: keeps what this instance mirrors of the shared tables (the channel directory,
/// the ended sessions) current with what other instances change. It LISTENs on
/// AccountStore::kChangedChannel, on which every such change notifies inside its transaction, and
/// calls `on_change` when a notification arrives, after every (re)connection (whatever changed
/// while it was not listening), and every kIdleMs without one (a missed notification costs at most
/// that long). `on_change` reads the tables itself; it is never told what changed.
///
/// Threads: its own thread runs the LISTEN and `on_change`; start() and stop() from the owner's.
class ClusterWatch {
 public:
  ClusterWatch(std::string url, std::function<void()> on_change, const Logger& logger);
  ~ClusterWatch();
  ClusterWatch(const ClusterWatch&) = delete;
  ClusterWatch& operator=(const ClusterWatch&) = delete;

  void start();
  void stop();

  static constexpr int kIdleMs = 1000;
  /// How long to wait before connecting again after a failure.
  static constexpr int kRetryMs = 500;

 private:
  void run();
  /// LISTENs (connecting first); false when PostgreSQL cannot be reached.
  bool listen();
  /// Waits up to kIdleMs for a notification; false when the connection broke.
  bool wait();
  void pause(int ms);

  PgConnection connection_;  // the watch thread's only
  std::function<void()> on_change_;
  const Logger& logger_;
  int wake_fd_ = -1;  // an eventfd: stop() makes the thread's waits return
  std::atomic<bool> stopping_{false};
  std::thread thread_;
};

}  // namespace relay
