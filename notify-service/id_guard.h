#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>

namespace relay {

/// Reads the newest id message-service's store holds; nullopt when it cannot be read (unreachable,
/// or an answer without it). May block (an HTTP call).
using StoreLastIdFetch = std::function<std::optional<int64_t>()>;

/// Decides whether the ids of a POST /notify batch can be real before the hub's dedupe trusts them:
/// one id far above every id seen would make the hub drop every real message after it. An id at
/// most `max_gap` above the hub's newest is taken as is (the forwarder's normal case, no call);
/// a higher one is checked against the store's newest id, read through `store_last_id` and cached
/// (the store's newest only grows, so a cached value that covers an id settles it without a call).
/// Thread-safe; check() may block in `store_last_id` (without holding the guard's lock).
class IdGuard {
 public:
  static constexpr int64_t kDefaultMaxGap = 100000;

  /// `store_last_id` may be empty: then ids beyond the gap can never be verified.
  explicit IdGuard(StoreLastIdFetch store_last_id, int64_t max_gap = kDefaultMaxGap);

  enum class Verdict {
    kAccept,        // the ids may be published
    kImplausible,   // above the store's newest id: refuse the batch (400)
    kCannotVerify,  // beyond the gap and the store's newest could not be read: refuse (503)
  };
  struct Decision {
    Verdict verdict = Verdict::kAccept;
    /// The store's newest id the decision used (set for kImplausible, and for kAccept when it was
    /// needed).
    std::optional<int64_t> store_last_id;
  };
  /// Judges a batch whose highest id is `highest_id` against a hub whose newest is `hub_last_id`
  /// (0 for a hub that has seen nothing). Ids <= 0 (transient kinds) are always accepted.
  Decision check(int64_t hub_last_id, int64_t highest_id);
  /// True when check() with these arguments would read the store's newest id (and so may block).
  /// The hub's newest and the cached store's newest only grow, so a false answer stays false:
  /// check() later, with a hub at least as new, does not block.
  bool needs_store(int64_t hub_last_id, int64_t highest_id);

  IdGuard(const IdGuard&) = delete;
  IdGuard& operator=(const IdGuard&) = delete;

 private:
  const StoreLastIdFetch store_last_id_;
  const int64_t max_gap_;
  std::mutex mutex_;
  int64_t known_store_last_id_ = 0;  // guarded by mutex_: the highest answer read so far
};

}  // namespace relay
