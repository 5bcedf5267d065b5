#pragma once

#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>

namespace relay {

/// Sessions that were ended (a logout, a removed user) while access tokens naming them may still
/// be unexpired, so that message-service refuses those tokens at once instead of when they expire.
/// Filled at start from the account store (sessions ended within one access-token lifetime) and on
/// every logout; an entry is dropped once every token of its session has expired, so the set holds
/// at most the logouts of one ACCESS_TOKEN_TTL. Thread-safe.
class RevokedSessions {
 public:
  /// Records that `session_id` ended; its tokens expire by `until_s` (Unix seconds). Entries past
  /// their time are swept out when the set has grown.
  void add(const std::string& session_id, int64_t until_s, int64_t now_s);
  /// True when `session_id` was ended.
  bool contains(const std::string& session_id) const;
  size_t size() const;

 private:
  mutable std::mutex mutex_;
  std::unordered_map<std::string, int64_t> ended_;  // guarded by mutex_
  size_t sweep_at_ = 1024;                          // guarded by mutex_
};

}  // namespace relay
