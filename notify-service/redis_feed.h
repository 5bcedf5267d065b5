#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "notify-service/hub.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"
#include "shared/redis/broker_settings.h"
#include "shared/redis/redis_connection.h"

namespace relay {

/// BROKER=redis: the notify-service's feed. It reads the Redis bus message-service writes
/// (RedisBus: kEventsStream, kTransientStream, kMembershipsKey) and publishes what it reads to the
/// hub, in the streams' order, so every notify-service instance gets every event. On start it
/// fills the hub's resume ring from the newest `ring_size` entries, then blocks in XREAD from the
/// last entry it holds; after a failure (Redis down or restarted) it connects again by itself with
/// backoff and goes on from that entry, so nothing the stream still holds is missed. An event sent
/// under a private channel table newer than the hub's waits until that table was read from Redis
/// (a typing notice that cannot get it is dropped): no event is fanned out under an older table.
/// Runs on its own thread; connected() and the counters may be read from any thread.
class RedisFeed {
 public:
  RedisFeed(const BrokerSettings& settings, Hub& hub, size_t ring_size, const Logger& logger,
            MetricsRegistry& metrics);
  ~RedisFeed();
  RedisFeed(const RedisFeed&) = delete;
  RedisFeed& operator=(const RedisFeed&) = delete;

  void start();
  /// Stops the thread (within about one XREAD block, a second).
  void stop();
  /// Where `presence` entries of the transient stream go (ClusterPresence::remote_entry); set
  /// before start().
  void set_presence_sink(std::function<void(const std::string& json)> sink) {
    presence_sink_ = std::move(sink);
  }
  /// Whether the last call to Redis succeeded.
  bool connected() const { return connected_.load(); }

 private:
  void run();
  /// Fills the ring from the stream's newest entries and sets both cursors.
  bool prime(std::string* error);
  /// One XREAD; publishes what it returned. False on a failure of Redis (not on a timeout).
  bool read_once(std::string* error);
  /// Makes the hub hold the private channel table of `version` or newer, reading it from Redis
  /// when it holds an older one. False when Redis has none that new yet, or failed (`*error`).
  bool ensure_table(int64_t version, std::string* error);
  /// Waits `ms` or until stop().
  void pause(int ms);
  bool stopping();

  Hub& hub_;
  std::function<void(const std::string&)> presence_sink_;
  size_t ring_size_;
  const Logger& logger_;
  Counter& events_;
  Counter& transient_;
  Counter& errors_;
  RedisConnection connection_;     // the feed's thread only
  bool primed_ = false;            // the feed's thread only
  int64_t confirmed_version_ = 0;  // the feed's thread only: the hub holds this table or newer
  std::string events_cursor_;      // the feed's thread only: the last entry id taken
  std::string transient_cursor_;   // the feed's thread only
  std::atomic<bool> connected_{false};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace relay
