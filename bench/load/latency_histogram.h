#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace relay::load {

/// Latencies in fixed-width buckets (10 µs wide up to 10 s by default, 8 MB), plus an overflow
/// bucket and the exact maximum. A percentile is reported as the upper edge of its bucket, capped
/// at the maximum seen, so it over-states by less than one bucket. Not thread-safe.
class LatencyHistogram {
 public:
  explicit LatencyHistogram(int64_t bucket_ns = 10'000, int64_t limit_ns = 10'000'000'000);

  /// Adds one sample; negative values count as 0.
  void record(int64_t latency_ns);

  uint64_t count() const { return count_; }
  int64_t max_ns() const { return max_ns_; }
  /// The latency at or below which a fraction `quantile` (0..1] of the samples lie; 0 when empty.
  int64_t percentile_ns(double quantile) const;

 private:
  int64_t bucket_ns_;
  std::vector<uint64_t> buckets_;  // the last one holds everything at or above the limit
  uint64_t count_ = 0;
  int64_t max_ns_ = 0;
};

}  // namespace relay::load
