#pragma once

#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace relay {

/// A token bucket per key (a user name): each key may spend `burst` actions at once and regains
/// `per_second` of them each second. Keys idle long enough to be full again are forgotten, so the
/// table stays as small as the set of recently active keys. Thread-safe.
class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  RateLimiter(double burst, double per_second) : burst_(burst), per_second_(per_second) {}

  /// Spends one action of `key` at `now` and returns true, or returns false (spending nothing)
  /// when its bucket is empty.
  bool allow(const std::string& key, Clock::time_point now = Clock::now());

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point updated;
  };

  const double burst_;
  const double per_second_;
  std::mutex mutex_;
  std::unordered_map<std::string, Bucket> buckets_;  // guarded by mutex_
};

}  // namespace relay
