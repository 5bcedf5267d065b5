#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_set>

namespace relay {

/// The ids of the stream tickets GET /events has accepted, each remembered until its ticket
/// expires, so that a ticket opens one stream only. Bounded twice: verify_stream_ticket refuses a
/// ticket that expires more than kMaxStreamTicketLifetimeS (60 s) from now, so every entry goes
/// within a minute (expired ones are dropped on each use()); and the set never holds more than
/// `capacity` ids: when full, a new ticket is refused (fail closed) until the oldest expire.
/// Thread-safe.
class UsedTickets {
 public:
  explicit UsedTickets(size_t capacity) : capacity_(capacity) {}

  enum class Verdict { kFirstUse, kUsedBefore, kFull };
  /// Forgets every ticket expired at `now_s`, then records ticket `id` (valid until
  /// `expires_at_s`) as used: kFirstUse the first time, kUsedBefore after that, kFull (nothing
  /// recorded) when `capacity` ids are held.
  Verdict use(const std::string& id, int64_t expires_at_s, int64_t now_s);

  /// The ids held now.
  size_t size() const;
  size_t capacity() const { return capacity_; }

 private:
  const size_t capacity_;
  mutable std::mutex mutex_;
  std::unordered_set<std::string> ids_;                // guarded by mutex_
  std::multimap<int64_t, std::string> ids_by_expiry_;  // guarded by mutex_; the same ids
};

}  // namespace relay
