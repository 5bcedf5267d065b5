#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <map>
#include <mutex>
#include <string>
#include <thread>

#include "notify-service/stream_quota.h"
#include "shared/logfmt.h"
#include "shared/redis/redis_connection.h"
#include "shared/redis/redis_url.h"

namespace relay {

/// How often ClusterStreamQuota renews this instance's hash, how long the hash lives without that,
/// and how long a Redis call may take (an event loop waits for acquire()'s).
struct StreamQuotaTiming {
  std::chrono::milliseconds heartbeat{1000};
  std::chrono::milliseconds ttl{5000};
  std::chrono::milliseconds timeout{250};
};

/// BROKER=redis, AUTH_MODE=accounts: MAX_STREAMS_PER_USER and MAX_STREAMS_PER_ADDRESS counted over
/// every notify-service instance, not per instance. Both fall out of one mechanism; the address is
/// the client's only behind a proxy listed in TRUSTED_PROXIES (cluster.sh sets it), otherwise every
/// client behind nginx counts as nginx's address.
///
/// In Redis: the hash kKeyPrefix + instance id holds this instance's open streams, fields
/// `user:<name>` and `address:<ip>` -> count, expiring `ttl` after its last renewal; the set
/// kRegistryKey lists the instances that may hold counts. acquire() runs one Lua script that sums
/// the user's and the address's counts over the hashes of the listed instances (dropping those
/// whose hash expired: a killed instance's streams stop counting `ttl` after its last heartbeat)
/// and increments this instance's fields only when both sums are under their limits. This object
/// keeps its own counts as the truth: release() only updates them and queues a decrement, which
/// its thread sends at once; every `heartbeat` the thread rewrites the hash whole from them (so a
/// decrement that did not reach Redis, or a hash Redis lost, is right again within one beat).
///
/// Redis unreachable (no answer within `timeout`): fail open to this instance's own counts,
/// against the same limits. Streams are still bounded per instance and by MAX_SUBSCRIBERS, a Redis
/// that cannot answer usually stops the feed too (no events flow), and refusing every signed-in
/// stream for a Redis outage would cost more than a user holding a few streams more for a while.
/// Until the thread reaches Redis again acquire() does not try it (so a dead Redis stalls an event
/// loop for at most one timeout per beat); the streams granted meanwhile are shared at the next
/// beat.
///
/// The script reads keys it was not passed, so this needs one Redis server (as the bus does), not
/// Redis Cluster. Thread-safe; owns one thread.
class ClusterStreamQuota {
 public:
  static constexpr const char* kKeyPrefix = "relay:streams:";
  static constexpr const char* kRegistryKey = "relay:stream-instances";
  using Timing = StreamQuotaTiming;

  /// `instance`: this instance's id (ClusterPresence's, so /health names the hash).
  ClusterStreamQuota(const RedisUrl& url, std::string instance, size_t per_user, size_t per_address,
                     const Logger& logger, Timing timing = {});
  ~ClusterStreamQuota();
  ClusterStreamQuota(const ClusterStreamQuota&) = delete;
  ClusterStreamQuota& operator=(const ClusterStreamQuota&) = delete;

  /// Starts the heartbeat thread. Without it (a test's dead instance) this instance's hash
  /// expires `ttl` after its last acquire().
  void start();
  /// Joins the thread, then deletes this instance's hash: a clean stop gives its streams back at
  /// once (call it once the streams are closed).
  void stop();

  /// Counts one more stream for `user` and `address` unless either is at its limit over the
  /// cluster (or, Redis unreachable, on this instance). Any thread; blocks for one Redis round
  /// trip, at most `timeout`, or while another caller's round trip or the heartbeat's runs.
  StreamQuota::Verdict acquire(const std::string& user, const std::string& address);
  /// Gives back what acquire() granted. Any thread; never waits for Redis.
  void release(const std::string& user, const std::string& address);
  /// Whether the last attempt reached Redis (false: deciding on this instance's counts).
  bool shared() const { return reachable_.load(); }

 private:
  void run();
  StreamQuota::Verdict acquire_locally(const std::string& user_field,
                                       const std::string& address_field);
  /// Sends the queued decrements (dropped when Redis cannot take them: the next beat covers them).
  void flush_releases();
  /// Rewrites this instance's hash from counts_ and renews it; clears the queued decrements.
  void heartbeat();
  /// Records whether Redis answered; logs the changes.
  void set_reachable(bool reachable, const std::string& error);

  const std::string instance_;
  const std::string own_key_;
  const size_t per_user_;
  const size_t per_address_;
  const Logger& logger_;
  const Timing timing_;
  std::atomic<bool> reachable_{true};
  // Held over every Redis call, so this instance's writes to its hash keep their order: an
  // acquire() between the heartbeat's snapshot and its rewrite would be lost otherwise. Taken
  // before counts_mutex_.
  std::mutex connection_mutex_;
  RedisConnection connection_;  // guarded by connection_mutex_
  std::mutex counts_mutex_;
  std::condition_variable wake_;
  std::map<std::string, size_t> counts_;   // guarded by counts_mutex_: field -> streams open here
  std::map<std::string, size_t> pending_;  // guarded by counts_mutex_: decrements not yet sent
  bool stopping_ = false;                  // guarded by counts_mutex_
  std::thread thread_;
};

}  // namespace relay
