#include "notify-service/id_guard.h"

#include <algorithm>

namespace relay {

IdGuard::IdGuard(StoreLastIdFetch store_last_id, int64_t max_gap)
    : store_last_id_(std::move(store_last_id)), max_gap_(max_gap) {}

bool IdGuard::needs_store(int64_t hub_last_id, int64_t highest_id) {
  if (highest_id <= hub_last_id || highest_id - hub_last_id <= max_gap_) return false;
  std::lock_guard lock(mutex_);
  return highest_id > known_store_last_id_;
}

IdGuard::Decision IdGuard::check(int64_t hub_last_id, int64_t highest_id) {
  // Written as a difference so that no sum can overflow (both are non-negative here).
  if (highest_id <= hub_last_id || highest_id - hub_last_id <= max_gap_) return {};
  {
    std::lock_guard lock(mutex_);
    if (highest_id <= known_store_last_id_) return {Verdict::kAccept, known_store_last_id_};
  }
  std::optional<int64_t> store_last_id;
  if (store_last_id_) store_last_id = store_last_id_();
  if (!store_last_id) return {Verdict::kCannotVerify, std::nullopt};
  {
    std::lock_guard lock(mutex_);
    known_store_last_id_ = std::max(known_store_last_id_, *store_last_id);
  }
  if (highest_id > *store_last_id) return {Verdict::kImplausible, store_last_id};
  return {Verdict::kAccept, store_last_id};
}

}  // namespace relay
