#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace relay {

/// Slows password guessing: after `max_failures` failed logins for one key (a user name, a client
/// address) within `window` of the first, that key may not try again until the window has passed.
/// A success clears its key. At most `max_keys` keys are tracked: when full, keys whose window
/// has passed are swept, then (a flood of distinct keys) an arbitrary one is dropped, so memory
/// stays bounded. Thread-safe.
class LoginThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  LoginThrottle(int max_failures, Clock::duration window, size_t max_keys = 100000)
      : max_failures_(max_failures), window_(window), max_keys_(max_keys) {}

  /// Seconds until `key` may try again; 0 when it may now.
  int64_t retry_after_s(const std::string& key, Clock::time_point now = Clock::now());
  void record_failure(const std::string& key, Clock::time_point now = Clock::now());
  void forget(const std::string& key);

 private:
  struct Failures {
    int count = 0;
    Clock::time_point first;
  };

  const int max_failures_;
  const Clock::duration window_;
  const size_t max_keys_;
  std::mutex mutex_;
  std::unordered_map<std::string, Failures> failures_;  // guarded by mutex_
};

}  // namespace relay
