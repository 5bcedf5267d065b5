#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shared/logfmt.h"
#include "shared/metrics.h"
#include "shared/redis/redis_connection.h"
#include "shared/redis/redis_url.h"

namespace relay {

/// STORE=postgres: the counts behind the rate limits and the sign-in throttle, kept in Redis so
/// that every message-service instance spends from one budget per key:
/// - `relay:rate:<limit>:<key>`: a token bucket (a hash: `tokens`, `at` in ms), refilled and spent
///   by one Lua script on the Redis server's clock (TIME), so the instances' clocks do not matter;
///   it expires once it would be full again;
/// - `relay:login:<key>`: a key's failed sign-ins, expiring when its window ends.
/// Every call is bounded, since POST /messages asks from an event loop: kTimeoutMs per round trip
/// to Redis, and a call waiting for the connection's lock waits for at most the one call holding
/// it (after a failure the calls behind it find the pause and do not try). When Redis cannot answer
/// (down, slow, an error reply), the call answers nullopt, and so does every call for the next
/// kPauseMs without trying, so callers fall back to their own per-instance count without paying the
/// timeout on each request. An outage is logged once when it starts and once when it ends; each
/// call that got no answer is counted (relay_rate_limit_fallbacks_total). Thread-safe: one
/// connection, guarded by a lock.
class ClusterLimits {
 public:
  static constexpr int kTimeoutMs = 200;
  static constexpr int kPauseMs = 1000;

  /// `logger` and `metrics` must outlive it.
  ClusterLimits(const RedisUrl& url, const Logger& logger, MetricsRegistry& metrics);
  ClusterLimits(const ClusterLimits&) = delete;
  ClusterLimits& operator=(const ClusterLimits&) = delete;

  /// Spends one token of `key`'s bucket of limit `limit` (`burst` at once, `per_second` > 0 back
  /// each second): true when spent, false when the bucket is empty, nullopt: no answer.
  std::optional<bool> take(const std::string& limit, const std::string& key, double burst,
                           double per_second);

  struct Failures {
    int64_t count = 0;
    int64_t ms_left = 0;  // until the window of the first failure ends
  };
  /// `key`'s failures in its current window (none: count 0); nullopt: no answer.
  std::optional<Failures> failures(const std::string& key);
  /// Counts one failure of `key`; the first starts a window of `window_ms`. false: no answer.
  bool add_failure(const std::string& key, int64_t window_ms);
  /// Forgets `key`'s failures. false: no answer.
  bool clear_failures(const std::string& key);

 private:
  /// A Lua script, run by EVALSHA once loaded (SCRIPT LOAD), by EVAL when Redis lost it.
  struct Script {
    const char* text;
    std::string sha;  // guarded by mutex_; empty: not loaded on this connection's Redis yet
  };

  /// Runs `script` on `keys` and `args`; the lock is held.
  std::optional<RedisReply> eval(Script& script, const std::vector<std::string>& keys,
                                 const std::vector<std::string>& args, std::string* error);
  /// Takes the lock unless paused, runs `call` unless paused meanwhile, and keeps the outage
  /// state: nullopt when paused, or when `call` failed or got an error reply.
  template <typename Call>
  std::optional<RedisReply> guarded(Call call);
  /// The lock is held: `error` ends or continues an outage (empty: Redis answered).
  void note(const std::string& error);

  const Logger& logger_;
  Counter& fallbacks_;
  /// Steady-clock ms until which calls do not try Redis (after a failure).
  std::atomic<int64_t> paused_until_ms_{0};
  std::mutex mutex_;
  RedisConnection connection_;  // guarded by mutex_
  bool out_ = false;            // guarded by mutex_: the last call failed (and was logged)
  Script bucket_{nullptr, {}};
  Script failure_{nullptr, {}};
};

}  // namespace relay
