#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "message-service/cluster_limits.h"
#include "message-service/login_throttle.h"

namespace relay {

/// LoginThrottle's rule (after `max_failures` failed sign-ins of one key within `window` of the
/// first, that key waits until the window has passed; a success clears it) counted across
/// message-service instances when given ClusterLimits (STORE=postgres), and by this instance alone
/// without. Failures are counted both here and in Redis; this instance's count is asked first (a
/// key it throttles is throttled everywhere), then Redis's, which holds the failures seen by every
/// instance. When Redis does not answer, this instance's count decides (fail open to the
/// per-instance throttle). `cluster` (may be null) must outlive it. Thread-safe.
class SharedLoginThrottle {
 public:
  SharedLoginThrottle(int max_failures, std::chrono::milliseconds window, ClusterLimits* cluster)
      : max_failures_(max_failures),
        window_(window),
        local_(max_failures, window),
        cluster_(cluster) {}

  /// Seconds until `key` may try again; 0 when it may now.
  int64_t retry_after_s(const std::string& key);
  void record_failure(const std::string& key);
  void forget(const std::string& key);

 private:
  const int max_failures_;
  const std::chrono::milliseconds window_;
  LoginThrottle local_;
  ClusterLimits* const cluster_;
};

}  // namespace relay
