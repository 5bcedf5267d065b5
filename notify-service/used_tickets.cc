#include "notify-service/used_tickets.h"

namespace relay {

UsedTickets::Verdict UsedTickets::use(const std::string& id, int64_t expires_at_s, int64_t now_s) {
  std::lock_guard lock(mutex_);
  // A ticket expired at now_s is refused by verification, so its id need not be kept.
  while (!ids_by_expiry_.empty() && ids_by_expiry_.begin()->first <= now_s) {
    ids_.erase(ids_by_expiry_.begin()->second);
    ids_by_expiry_.erase(ids_by_expiry_.begin());
  }
  if (ids_.contains(id)) return Verdict::kUsedBefore;
  if (ids_.size() >= capacity_) return Verdict::kFull;
  ids_.insert(id);
  ids_by_expiry_.emplace(expires_at_s, id);
  return Verdict::kFirstUse;
}

size_t UsedTickets::size() const {
  std::lock_guard lock(mutex_);
  return ids_.size();
}

}  // namespace relay
