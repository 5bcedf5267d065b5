#include "notify-service/stream_quota.h"

namespace relay {

namespace {

void give_back(std::unordered_map<std::string, size_t>& counts, const std::string& key) {
  auto found = counts.find(key);
  if (found == counts.end()) return;
  if (--found->second == 0) counts.erase(found);
}

}  // namespace

StreamQuota::Verdict StreamQuota::acquire(const std::string& user, const std::string& address) {
  std::lock_guard lock(mutex_);
  auto user_count = users_.find(user);
  if (user_count != users_.end() && user_count->second >= per_user_) return Verdict::kUserFull;
  auto address_count = addresses_.find(address);
  if (address_count != addresses_.end() && address_count->second >= per_address_) {
    return Verdict::kAddressFull;
  }
  ++users_[user];
  ++addresses_[address];
  return Verdict::kGranted;
}

void StreamQuota::release(const std::string& user, const std::string& address) {
  std::lock_guard lock(mutex_);
  give_back(users_, user);
  give_back(addresses_, address);
}

}  // namespace relay
