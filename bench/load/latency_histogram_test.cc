#include "bench/load/latency_histogram.h"

#include <doctest/doctest.h>

namespace relay::load {
namespace {

TEST_CASE("LatencyHistogram: empty reports zero") {
  LatencyHistogram histogram;
  CHECK(histogram.count() == 0);
  CHECK(histogram.percentile_ns(0.5) == 0);
  CHECK(histogram.max_ns() == 0);
}

TEST_CASE("LatencyHistogram: percentiles are bucket upper edges, capped at the max") {
  LatencyHistogram histogram(10'000, 1'000'000'000);
  // 1..100 ms, one sample each.
  for (int ms = 1; ms <= 100; ++ms) histogram.record(int64_t{ms} * 1'000'000 + 1);
  CHECK(histogram.count() == 100);
  CHECK(histogram.percentile_ns(0.50) == 50'010'000);
  CHECK(histogram.percentile_ns(0.99) == 99'010'000);
  CHECK(histogram.percentile_ns(1.0) == 100'000'001);  // capped at the exact max
  CHECK(histogram.max_ns() == 100'000'001);
}

TEST_CASE("LatencyHistogram: skewed distribution") {
  LatencyHistogram histogram(10'000, 1'000'000'000);
  for (int i = 0; i < 990; ++i) histogram.record(25'000);    // bucket [20, 30) µs
  for (int i = 0; i < 10; ++i) histogram.record(5'000'000);  // 5 ms
  CHECK(histogram.percentile_ns(0.50) == 30'000);
  CHECK(histogram.percentile_ns(0.99) == 30'000);
  CHECK(histogram.percentile_ns(0.995) == 5'000'000);  // edge 5.01 ms, capped at the max
}

TEST_CASE("LatencyHistogram: overflow and negative samples") {
  LatencyHistogram histogram(10'000, 1'000'000);
  histogram.record(-5);
  histogram.record(5'000'000);  // beyond the 1 ms limit
  CHECK(histogram.percentile_ns(0.5) == 10'000);
  CHECK(histogram.percentile_ns(1.0) == 5'000'000);
  CHECK(histogram.max_ns() == 5'000'000);
}

}  // namespace
}  // namespace relay::load
