#include "message-service/login_throttle.h"

namespace relay {

int64_t LoginThrottle::retry_after_s(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = failures_.find(key);
  if (found == failures_.end()) return 0;
  auto ends = found->second.first + window_;
  if (now >= ends) {
    failures_.erase(found);
    return 0;
  }
  if (found->second.count < max_failures_) return 0;
  auto left = std::chrono::duration_cast<std::chrono::seconds>(ends - now).count();
  return left < 1 ? 1 : left;
}

void LoginThrottle::record_failure(const std::string& key, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto found = failures_.find(key);
  if (found != failures_.end() && now >= found->second.first + window_) {
    failures_.erase(found);
    found = failures_.end();
  }
  if (found == failures_.end()) {
    if (failures_.size() >= max_keys_) {
      std::erase_if(failures_,
                    [&](const auto& entry) { return now >= entry.second.first + window_; });
      if (failures_.size() >= max_keys_) failures_.erase(failures_.begin());
    }
    found = failures_.emplace(key, Failures{0, now}).first;
  }
  ++found->second.count;
}

void LoginThrottle::forget(const std::string& key) {
  std::lock_guard lock(mutex_);
  failures_.erase(key);
}

}  // namespace relay
