#include "message-service/shared_rate_limiter.h"

namespace relay {

bool SharedRateLimiter::allow(const std::string& key) {
  if (!local_.allow(key)) return false;
  if (cluster_ == nullptr) return true;
  return cluster_->take(name_, key, burst_, per_second_).value_or(true);
}

}  // namespace relay
