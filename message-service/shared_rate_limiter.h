#pragma once

#include <string>

#include "message-service/cluster_limits.h"
#include "message-service/rate_limiter.h"

namespace relay {

/// A rate limit named `name` (a token bucket per key: `burst` at once, `per_second` > 0 back each
/// second) that holds across message-service instances when given ClusterLimits (STORE=postgres),
/// and is this instance's RateLimiter alone without. This instance's bucket is asked first: it is
/// cheap and bounds a flood without touching Redis. A key it allows then spends from the shared
/// bucket of the same size, which decides; when Redis does not answer, the local answer stands
/// (fail open to the per-instance limit). A call waits at most what one ClusterLimits call may
/// (the event loop may call it). `cluster` (may be null) must outlive it. Thread-safe.
class SharedRateLimiter {
 public:
  SharedRateLimiter(std::string name, double burst, double per_second, ClusterLimits* cluster)
      : name_(std::move(name)),
        burst_(burst),
        per_second_(per_second),
        local_(burst, per_second),
        cluster_(cluster) {}

  /// Spends one action of `key` and returns true, or returns false when its bucket is empty.
  bool allow(const std::string& key);

 private:
  const std::string name_;
  const double burst_;
  const double per_second_;
  RateLimiter local_;
  ClusterLimits* const cluster_;
};

}  // namespace relay
