#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace relay {

/// Label pairs of one time series, e.g. {{"route", "/messages"}, {"status", "201"}}.
using Labels = std::vector<std::pair<std::string, std::string>>;

/// A monotonically increasing count. Lock-free; safe from any thread.
class Counter {
 public:
  void add(uint64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  uint64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<uint64_t> value_{0};
};

/// Counts observations (in seconds) into fixed latency buckets. Safe from any thread.
class Histogram {
 public:
  Histogram();
  void observe(double seconds);

  static const std::vector<double>& bucket_bounds();
  /// Cumulative counts per bucket, then +Inf; with sum and count, for rendering.
  void snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const;

 private:
  std::vector<std::atomic<uint64_t>> buckets_;
  std::atomic<uint64_t> count_{0};
  std::atomic<uint64_t> sum_micros_{0};
};

/// Holds a service's metrics and renders them in the Prometheus text format (version 0.0.4).
/// Metric objects live as long as the registry; references to them stay valid. Thread-safe.
class MetricsRegistry {
 public:
  /// Returns the counter `name{labels}`, creating it (and its HELP line) on first use.
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {});
  /// A gauge whose value is read from `read` at render time.
  void gauge(const std::string& name, const std::string& help, std::function<double()> read);

  /// Records one HTTP request: `http_requests_total{method,route,status}` and
  /// `http_request_duration_seconds{method,route,status}`.
  void record_request(const std::string& method, const std::string& route, int status,
                      double seconds);

  std::string render() const;

 private:
  struct Family {
    std::string type;
    std::string help;
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
    std::function<double()> gauge_read;
  };
  Family& family(const std::string& name, const std::string& help, const char* type);

  mutable std::mutex mutex_;
  std::map<std::string, Family> families_;  // guarded by mutex_
};

}  // namespace relay
