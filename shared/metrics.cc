#include "shared/metrics.h"

#include <fmt/format.h>

namespace relay {

const std::vector<double>& Histogram::bucket_bounds() {
  static const std::vector<double> kBounds = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,   0.1,   0.25,   0.5,   1.0,  2.5};
  return kBounds;
}

Histogram::Histogram() : buckets_(bucket_bounds().size() + 1) {}

void Histogram::observe(double seconds) {
  const auto& bounds = bucket_bounds();
  size_t i = 0;
  while (i < bounds.size() && seconds > bounds[i]) ++i;
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  sum_micros_.fetch_add(static_cast<uint64_t>(seconds * 1e6), std::memory_order_relaxed);
}

void Histogram::snapshot(std::vector<uint64_t>* cumulative, double* sum, uint64_t* count) const {
  cumulative->clear();
  uint64_t running = 0;
  for (const auto& bucket : buckets_) {
    running += bucket.load(std::memory_order_relaxed);
    cumulative->push_back(running);
  }
  *sum = static_cast<double>(sum_micros_.load(std::memory_order_relaxed)) / 1e6;
  *count = running;
}

MetricsRegistry::Family& MetricsRegistry::family(const std::string& name, const std::string& help,
                                                 const char* type) {
  auto& entry = families_[name];
  if (entry.type.empty()) {
    entry.type = type;
    entry.help = help;
  }
  return entry;
}

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, "counter").counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const Labels& labels) {
  std::lock_guard lock(mutex_);
  auto& slot = family(name, help, "histogram").histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>();
  return *slot;
}

void MetricsRegistry::gauge(const std::string& name, const std::string& help,
                            std::function<double()> read) {
  std::lock_guard lock(mutex_);
  family(name, help, "gauge").gauge_read = std::move(read);
}

void MetricsRegistry::record_request(const std::string& method, const std::string& route,
                                     int status, double seconds) {
  counter("http_requests_total", "HTTP requests answered, by method, route and status.",
          {{"method", method}, {"route", route}, {"status", std::to_string(status)}})
      .add();
  histogram("http_request_duration_seconds",
            "Time from reading a request to writing its response, by method, route and status.",
            {{"method", method}, {"route", route}, {"status", std::to_string(status)}})
      .observe(seconds);
}

namespace {

std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out.append("\\n");
      continue;
    }
    out.push_back(c);
  }
  return out;
}

std::string label_text(const Labels& labels, const std::string& extra_key = {},
                       const std::string& extra_value = {}) {
  if (labels.empty() && extra_key.empty()) return {};
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : labels) {
    if (!first) out.push_back(',');
    out += fmt::format("{}=\"{}\"", key, escape_label(value));
    first = false;
  }
  if (!extra_key.empty()) {
    if (!first) out.push_back(',');
    out += fmt::format("{}=\"{}\"", extra_key, extra_value);
  }
  out.push_back('}');
  return out;
}

}  // namespace

std::string MetricsRegistry::render() const {
  std::lock_guard lock(mutex_);
  std::string out;
  for (const auto& [name, family] : families_) {
    out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, family.help, name, family.type);
    if (family.gauge_read) {
      out += fmt::format("{} {}\n", name, family.gauge_read());
    }
    for (const auto& [labels, counter] : family.counters) {
      out += fmt::format("{}{} {}\n", name, label_text(labels), counter->value());
    }
    for (const auto& [labels, histogram] : family.histograms) {
      std::vector<uint64_t> cumulative;
      double sum = 0;
      uint64_t count = 0;
      histogram->snapshot(&cumulative, &sum, &count);
      const auto& bounds = Histogram::bucket_bounds();
      for (size_t i = 0; i < cumulative.size(); ++i) {
        std::string le = i < bounds.size() ? fmt::format("{}", bounds[i]) : "+Inf";
        out += fmt::format("{}_bucket{} {}\n", name, label_text(labels, "le", le), cumulative[i]);
      }
      out += fmt::format("{}_sum{} {}\n", name, label_text(labels), sum);
      out += fmt::format("{}_count{} {}\n", name, label_text(labels), count);
    }
  }
  return out;
}

}  // namespace relay
