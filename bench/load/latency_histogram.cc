#include "bench/load/latency_histogram.h"

#include <algorithm>
#include <cmath>

namespace relay::load {

LatencyHistogram::LatencyHistogram(int64_t bucket_ns, int64_t limit_ns)
    : bucket_ns_(bucket_ns), buckets_(static_cast<size_t>(limit_ns / bucket_ns) + 1, 0) {}

void LatencyHistogram::record(int64_t latency_ns) {
  latency_ns = std::max<int64_t>(latency_ns, 0);
  size_t index = std::min(static_cast<size_t>(latency_ns / bucket_ns_), buckets_.size() - 1);
  ++buckets_[index];
  ++count_;
  max_ns_ = std::max(max_ns_, latency_ns);
}

int64_t LatencyHistogram::percentile_ns(double quantile) const {
  if (count_ == 0) return 0;
  quantile = std::clamp(quantile, 0.0, 1.0);
  uint64_t rank = std::max<uint64_t>(
      1, static_cast<uint64_t>(std::ceil(quantile * static_cast<double>(count_))));
  uint64_t seen = 0;
  for (size_t i = 0; i < buckets_.size(); ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      if (i == buckets_.size() - 1) return max_ns_;
      return std::min(static_cast<int64_t>(i + 1) * bucket_ns_, max_ns_);
    }
  }
  return max_ns_;
}

}  // namespace relay::load
