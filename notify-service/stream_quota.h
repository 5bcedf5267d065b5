#pragma once

#include <cstddef>
#include <mutex>
#include <string>
#include <unordered_map>

namespace relay {

/// Open streams counted per user and per client address, against MAX_STREAMS_PER_USER and
/// MAX_STREAMS_PER_ADDRESS (AUTH_MODE=accounts), so that one account or one host cannot take the
/// service's whole MAX_SUBSCRIBERS. Keys at zero are forgotten: the tables hold only what is
/// open. Thread-safe.
class StreamQuota {
 public:
  StreamQuota(size_t per_user, size_t per_address)
      : per_user_(per_user), per_address_(per_address) {}

  enum class Verdict { kGranted, kUserFull, kAddressFull };
  /// Counts one more stream for `user` and `address`, unless either is at its limit.
  Verdict acquire(const std::string& user, const std::string& address);
  /// Gives back what acquire() granted.
  void release(const std::string& user, const std::string& address);

  size_t per_user() const { return per_user_; }
  size_t per_address() const { return per_address_; }

 private:
  const size_t per_user_;
  const size_t per_address_;
  std::mutex mutex_;
  std::unordered_map<std::string, size_t> users_;      // guarded by mutex_
  std::unordered_map<std::string, size_t> addresses_;  // guarded by mutex_
};

}  // namespace relay
