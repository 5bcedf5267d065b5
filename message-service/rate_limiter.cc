#include "message-service/rate_limiter.h"

#include <algorithm>
#include <iterator>

namespace relay {

namespace {

// Past this many keys, allow() forgets the ones whose buckets have refilled.
constexpr size_t kPruneAbove = 4096;

}  // namespace

bool RateLimiter::allow(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto refill = [this, now](Bucket& bucket) {
    std::chrono::duration<double> elapsed = now - bucket.updated;
    bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed.count()) * per_second_);
    bucket.updated = now;
  };
  if (buckets_.size() > kPruneAbove) {
    for (auto it = buckets_.begin(); it != buckets_.end();) {
      refill(it->second);
      it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
    }
  }
  auto [it, created] = buckets_.try_emplace(key, Bucket{burst_, now});
  if (!created) refill(it->second);
  if (it->second.tokens < 1.0) return false;
  it->second.tokens -= 1.0;
  return true;
}

}  // namespace relay
