#include "bench/load/delivery_ledger.h"

namespace relay::load {

DeliveryLedger::DeliveryLedger(size_t subscribers, uint64_t messages)
    : messages_(messages),
      words_per_subscriber_(static_cast<size_t>((messages + 63) / 64)),
      seen_bits_(subscribers * words_per_subscriber_, 0),
      counts_(subscribers) {}

DeliveryLedger::Outcome DeliveryLedger::record(size_t subscriber, uint64_t seq,
                                               uint64_t order_key) {
  if (subscriber >= counts_.size()) return Outcome::kUnexpected;
  SubscriberCounts& counts = counts_[subscriber];
  if (seq >= messages_) {
    ++counts.unexpected;
    return Outcome::kUnexpected;
  }
  uint64_t& word = seen_bits_[subscriber * words_per_subscriber_ + seq / 64];
  uint64_t bit = uint64_t{1} << (seq % 64);
  if (word & bit) {
    ++counts.duplicated;
    return Outcome::kDuplicate;
  }
  word |= bit;
  ++counts.distinct;
  ++distinct_total_;
  if (counts.any && order_key < counts.highest_key) {
    ++counts.out_of_order;
    return Outcome::kOutOfOrder;
  }
  counts.highest_key = order_key;
  counts.any = true;
  return Outcome::kInOrder;
}

DeliveryLedger::Totals DeliveryLedger::totals(const std::vector<bool>& judged) const {
  Totals totals;
  for (size_t i = 0; i < counts_.size(); ++i) {
    if (i >= judged.size() || !judged[i]) continue;
    const SubscriberCounts& counts = counts_[i];
    uint64_t missing = messages_ - counts.distinct;
    totals.distinct += counts.distinct;
    totals.missing += missing;
    totals.duplicated += counts.duplicated;
    totals.out_of_order += counts.out_of_order;
    totals.unexpected += counts.unexpected;
    totals.subscribers_missing += missing > 0 ? 1 : 0;
    totals.subscribers_duplicated += counts.duplicated > 0 ? 1 : 0;
    totals.subscribers_out_of_order += counts.out_of_order > 0 ? 1 : 0;
  }
  return totals;
}

}  // namespace relay::load
