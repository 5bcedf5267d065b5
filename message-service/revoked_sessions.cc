#include "message-service/revoked_sessions.h"

#include <algorithm>

namespace relay {

void RevokedSessions::add(const std::string& session_id, int64_t until_s, int64_t now_s) {
  std::lock_guard lock(mutex_);
  ended_[session_id] = until_s;
  if (ended_.size() < sweep_at_) return;
  std::erase_if(ended_, [now_s](const auto& entry) { return entry.second < now_s; });
  sweep_at_ = std::max<size_t>(1024, ended_.size() * 2);
}

bool RevokedSessions::contains(const std::string& session_id) const {
  std::lock_guard lock(mutex_);
  return ended_.count(session_id) > 0;
}

size_t RevokedSessions::size() const {
  std::lock_guard lock(mutex_);
  return ended_.size();
}

}  // namespace relay
