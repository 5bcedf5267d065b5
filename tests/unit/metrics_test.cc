// Unit tests of shared/metrics.h: the Prometheus text rendering.

#include "shared/metrics.h"

#include <string>

#include <doctest/doctest.h>

namespace relay {

TEST_SUITE_BEGIN("metrics");

TEST_CASE("metrics: an empty registry renders nothing") {
  MetricsRegistry registry;
  CHECK(registry.render() == "");
}

TEST_CASE("metrics: counters render HELP, TYPE and one line per label set, sorted by name") {
  MetricsRegistry registry;
  registry.counter("relay_messages_stored_total", "Messages stored.").add(3);
  Counter& ok = registry.counter("http_requests_total", "Requests.",
                                 {{"method", "GET"}, {"route", "/health"}, {"status", "200"}});
  ok.add();
  ok.add(2);
  registry.counter("http_requests_total", "ignored: the first help wins",
                   {{"method", "POST"}, {"route", "/messages"}, {"status", "201"}});
  CHECK(&registry.counter("http_requests_total", "",
                          {{"method", "GET"}, {"route", "/health"}, {"status", "200"}}) == &ok);
  CHECK(ok.value() == 3);
  CHECK(registry.render() ==
        "# HELP http_requests_total Requests.\n"
        "# TYPE http_requests_total counter\n"
        "http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 3\n"
        "http_requests_total{method=\"POST\",route=\"/messages\",status=\"201\"} 0\n"
        "# HELP relay_messages_stored_total Messages stored.\n"
        "# TYPE relay_messages_stored_total counter\n"
        "relay_messages_stored_total 3\n");
}

TEST_CASE("metrics: label values are escaped") {
  MetricsRegistry registry;
  registry.counter("odd_total", "Odd labels.", {{"path", "a\"b\\c\nd"}}).add();
  CHECK(registry.render() ==
        "# HELP odd_total Odd labels.\n"
        "# TYPE odd_total counter\n"
        "odd_total{path=\"a\\\"b\\\\c\\nd\"} 1\n");
}

TEST_CASE("metrics: gauges are read at render time") {
  MetricsRegistry registry;
  double value = 7;
  registry.gauge("relay_subscribers", "Open streams.", [&value] { return value; });
  CHECK(registry.render() ==
        "# HELP relay_subscribers Open streams.\n"
        "# TYPE relay_subscribers gauge\n"
        "relay_subscribers 7\n");
  value = 0.5;
  CHECK(registry.render().find("relay_subscribers 0.5\n") != std::string::npos);
}

TEST_CASE("metrics: histograms render cumulative buckets, sum and count") {
  MetricsRegistry registry;
  Histogram& histogram = registry.histogram("op_seconds", "Op latency.", {{"op", "x"}});
  histogram.observe(0.003);
  histogram.observe(0.003);
  histogram.observe(0.2);
  histogram.observe(10);
  CHECK(registry.render() ==
        "# HELP op_seconds Op latency.\n"
        "# TYPE op_seconds histogram\n"
        "op_seconds_bucket{op=\"x\",le=\"0.0005\"} 0\n"
        "op_seconds_bucket{op=\"x\",le=\"0.001\"} 0\n"
        "op_seconds_bucket{op=\"x\",le=\"0.0025\"} 0\n"
        "op_seconds_bucket{op=\"x\",le=\"0.005\"} 2\n"
        "op_seconds_bucket{op=\"x\",le=\"0.01\"} 2\n"
        "op_seconds_bucket{op=\"x\",le=\"0.025\"} 2\n"
        "op_seconds_bucket{op=\"x\",le=\"0.05\"} 2\n"
        "op_seconds_bucket{op=\"x\",le=\"0.1\"} 2\n"
        "op_seconds_bucket{op=\"x\",le=\"0.25\"} 3\n"
        "op_seconds_bucket{op=\"x\",le=\"0.5\"} 3\n"
        "op_seconds_bucket{op=\"x\",le=\"1\"} 3\n"
        "op_seconds_bucket{op=\"x\",le=\"2.5\"} 3\n"
        "op_seconds_bucket{op=\"x\",le=\"+Inf\"} 4\n"
        "op_seconds_sum{op=\"x\"} 10.206\n"
        "op_seconds_count{op=\"x\"} 4\n");
}

TEST_CASE("metrics: a bucket bound is inclusive") {
  Histogram histogram;
  histogram.observe(0.001);
  std::vector<uint64_t> cumulative;
  double sum = 0;
  uint64_t count = 0;
  histogram.snapshot(&cumulative, &sum, &count);
  REQUIRE(cumulative.size() == Histogram::bucket_bounds().size() + 1);
  CHECK(cumulative[0] == 0);  // le 0.0005
  CHECK(cumulative[1] == 1);  // le 0.001
  CHECK(cumulative.back() == 1);
  CHECK(count == 1);
  CHECK(sum == doctest::Approx(0.001));
}

TEST_CASE("metrics: record_request counts by method, route and status") {
  MetricsRegistry registry;
  registry.record_request("GET", "/health", 200, 0.0001);
  registry.record_request("GET", "/health", 200, 0.0001);
  registry.record_request("POST", "/messages", 400, 0.002);
  std::string text = registry.render();
  CHECK(text.find("# TYPE http_requests_total counter\n") != std::string::npos);
  CHECK(text.find("http_requests_total{method=\"GET\",route=\"/health\",status=\"200\"} 2\n") !=
        std::string::npos);
  CHECK(text.find("http_requests_total{method=\"POST\",route=\"/messages\",status=\"400\"} 1\n") !=
        std::string::npos);
  CHECK(text.find("# TYPE http_request_duration_seconds histogram\n") != std::string::npos);
  CHECK(text.find("http_request_duration_seconds_count{method=\"GET\",route=\"/health\","
                  "status=\"200\"} 2\n") != std::string::npos);
  CHECK(text.find("http_request_duration_seconds_bucket{method=\"POST\",route=\"/messages\","
                  "status=\"400\",le=\"0.0025\"} 1\n") != std::string::npos);
}

TEST_SUITE_END();

}  // namespace relay
