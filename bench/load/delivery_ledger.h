#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace relay::load {

/// Counts what each subscriber received against what was published: a bitset of sequence
/// numbers per subscriber (messages/8 bytes each), the highest order key so far, and totals.
/// Rules: a seq already seen is a duplicate; otherwise an order key below the subscriber's highest
/// so far is out of order; missing = messages − distinct seqs seen, summed when asked. Seqs outside
/// [0, messages) are counted as unexpected and otherwise ignored. Not thread-safe.
class DeliveryLedger {
 public:
  enum class Outcome { kInOrder, kOutOfOrder, kDuplicate, kUnexpected };

  DeliveryLedger(size_t subscribers, uint64_t messages);

  /// Records one delivery. `order_key` is what the stream must be ascending in; callers pass the
  /// seq itself unless publish order and server order can differ (see README).
  Outcome record(size_t subscriber, uint64_t seq, uint64_t order_key);
  Outcome record(size_t subscriber, uint64_t seq) { return record(subscriber, seq, seq); }

  /// Totals over the subscribers in [0, subscribers): the ones to judge (e.g. those connected).
  struct Totals {
    uint64_t distinct = 0;
    uint64_t missing = 0;
    uint64_t duplicated = 0;
    uint64_t out_of_order = 0;
    uint64_t unexpected = 0;
    uint64_t subscribers_missing = 0;
    uint64_t subscribers_duplicated = 0;
    uint64_t subscribers_out_of_order = 0;
  };
  Totals totals(const std::vector<bool>& judged) const;
  Totals totals() const { return totals(std::vector<bool>(counts_.size(), true)); }

  /// Distinct seqs seen over all subscribers (cheap; kept as deliveries arrive).
  uint64_t distinct_total() const { return distinct_total_; }

 private:
  struct SubscriberCounts {
    uint64_t distinct = 0;
    uint64_t duplicated = 0;
    uint64_t out_of_order = 0;
    uint64_t unexpected = 0;
    uint64_t highest_key = 0;
    bool any = false;
  };

  uint64_t messages_;
  size_t words_per_subscriber_;
  std::vector<uint64_t> seen_bits_;
  std::vector<SubscriberCounts> counts_;
  uint64_t distinct_total_ = 0;
};

}  // namespace relay::load
