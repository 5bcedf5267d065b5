#include "message-service/shared_login_throttle.h"

#include <algorithm>

namespace relay {

int64_t SharedLoginThrottle::retry_after_s(const std::string& key) {
  int64_t local = local_.retry_after_s(key);
  if (local > 0 || cluster_ == nullptr) return local;
  auto shared = cluster_->failures(key);
  if (!shared || shared->count < max_failures_) return 0;
  return std::max<int64_t>(1, (shared->ms_left + 999) / 1000);
}

void SharedLoginThrottle::record_failure(const std::string& key) {
  local_.record_failure(key);
  if (cluster_ != nullptr) cluster_->add_failure(key, window_.count());
}

void SharedLoginThrottle::forget(const std::string& key) {
  local_.forget(key);
  if (cluster_ != nullptr) cluster_->clear_failures(key);
}

}  // namespace relay
