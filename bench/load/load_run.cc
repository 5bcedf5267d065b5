#include "bench/load/load_run.h"

#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <cstdio>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "bench/load/delivery_ledger.h"
#include "bench/load/latency_histogram.h"
#include "bench/load/load_stamp.h"
#include "bench/load/proc_stats.h"
#include "bench/load/publisher.h"
#include "bench/load/server_dialect.h"
#include "bench/load/subscriber_pool.h"

namespace relay::load {

namespace {

constexpr int kPollMs = 10;

void raise_open_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  limit.rlim_cur = limit.rlim_max;
  setrlimit(RLIMIT_NOFILE, &limit);
}

// notify-service's last_event_id from /health (a string of digits, or a number).
std::optional<int64_t> read_last_event_id(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(5, 0);
  auto result = client.Get("/health");
  if (!result || result->status != 200) return std::nullopt;
  auto body = nlohmann::json::parse(result->body, nullptr, false);
  if (!body.is_object() || !body.contains("last_event_id")) return std::nullopt;
  const auto& value = body["last_event_id"];
  if (value.is_number_integer()) return value.get<int64_t>();
  if (!value.is_string()) return std::nullopt;
  std::string text = value.get<std::string>();
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return id;
}

// The sums over the server's processes (nginx: master and workers); nullopt if any is unreadable.
std::optional<int64_t> total_rss_kb(const std::vector<int64_t>& pids) {
  int64_t total = 0;
  for (int64_t pid : pids) {
    auto rss = read_rss_kb(pid);
    if (!rss) return std::nullopt;
    total += *rss;
  }
  return total;
}

std::optional<int64_t> total_cpu_us(const std::vector<int64_t>& pids) {
  int64_t total = 0;
  for (int64_t pid : pids) {
    auto cpu = read_cpu_us(pid);
    if (!cpu) return std::nullopt;
    total += *cpu;
  }
  return total;
}

}  // namespace

std::optional<LoadReport> run_load(const LoadOptions& options, std::string* error) {
  raise_open_file_limit();
  int64_t run_start_ns = monotonic_ns();
  int64_t deadline_ns = run_start_ns + static_cast<int64_t>(options.time_limit_s * 1e9);

  int64_t base_id = 0;
  if (options.path == PublishPath::kNotify) {
    auto last_id = read_last_event_id(options.notify_port);
    if (!last_id) {
      *error = "cannot read last_event_id from notify-service's /health";
      return std::nullopt;
    }
    base_id = *last_id + 1;
  }
  // With several publishers on the messages or nchan path, the server's order (what a stream must
  // follow) can differ from seq order, so order is judged by the SSE event id there.
  bool order_by_event_id = options.path != PublishPath::kNotify && options.publishers > 1;
  bool sampling = !options.server_pids.empty();

  LoadReport report;
  report.target = options.target == Target::kNchan ? "nchan" : "relay";
  report.subscribers = options.subscribers;
  report.messages = options.messages;
  DeliveryLedger ledger(options.subscribers, options.messages);
  LatencyHistogram latency;
  int64_t last_event_ns = 0;
  auto on_message = [&](size_t subscriber, const SseEvent& event) {
    int64_t now = monotonic_ns();
    last_event_ns = now;
    auto stamp = stamp_of(options.target, event);
    if (!stamp) {
      ++report.foreign_events;
      return;
    }
    ++report.deliveries;
    latency.record(now - stamp->sent_ns);
    uint64_t order_key = stamp->seq;
    if (order_by_event_id) order_key = server_order_of(options.target, event).value_or(stamp->seq);
    ledger.record(subscriber, stamp->seq, order_key);
  };
  bool nchan = options.target == Target::kNchan;
  SubscriberPool pool(options.target, nchan ? options.nchan_sub_port : options.notify_port,
                      options.nchan_sub_path, options.subscribers, options.max_connecting,
                      on_message);

  std::optional<int64_t> rss_before;
  if (sampling) rss_before = total_rss_kb(options.server_pids);
  while (!pool.opening_done() && monotonic_ns() < deadline_ns) {
    if (!pool.poll(kPollMs)) {
      *error = "epoll failed";
      return std::nullopt;
    }
  }
  if (rss_before && pool.connected() > 0) {
    if (auto rss_after = total_rss_kb(options.server_pids)) {
      report.server_rss_kb_per_subscriber =
          static_cast<double>(*rss_after - *rss_before) / static_cast<double>(pool.connected());
    }
  }

  std::optional<int64_t> cpu_before;
  if (sampling) cpu_before = total_cpu_us(options.server_pids);
  Publisher publisher(options, base_id);
  // With no subscribers asked for, the run measures publishing alone.
  bool publishing = pool.opening_done() && !options.listen_only &&
                    (pool.connected() > 0 || options.subscribers == 0);
  if (publishing) publisher.start();
  uint64_t expected = static_cast<uint64_t>(pool.connected()) * options.messages;
  int64_t publish_end_ns = 0;
  while (publishing && monotonic_ns() < deadline_ns) {
    pool.poll(kPollMs);
    if (ledger.distinct_total() >= expected && publisher.done()) break;
    if (!publisher.done()) continue;
    int64_t now = monotonic_ns();
    if (publish_end_ns == 0) publish_end_ns = now;
    if (now - std::max(publish_end_ns, last_event_ns) >= options.drain_ms * 1'000'000) break;
  }
  int64_t first_event_ns = 0;
  if (options.listen_only && pool.opening_done()) {
    std::fprintf(stderr, "sse_load: listening on %zu streams\n", pool.connected());
    std::fflush(stderr);
    uint64_t deliveries_before = report.deliveries;
    while (monotonic_ns() < deadline_ns) {
      pool.poll(kPollMs);
      if (first_event_ns == 0 && report.deliveries > deliveries_before)
        first_event_ns = last_event_ns;
      if (ledger.distinct_total() >= expected) break;
      if (first_event_ns != 0 && monotonic_ns() - last_event_ns >= options.drain_ms * 1'000'000) {
        break;
      }
    }
  }
  std::optional<int64_t> cpu_after;
  if (cpu_before) cpu_after = total_cpu_us(options.server_pids);
  int64_t finish_ns = monotonic_ns();
  report.time_limit_hit = finish_ns >= deadline_ns;
  publisher.stop();
  PublishStats published = publisher.stats();

  report.subscribers_connected = pool.connected();
  report.subscribers_failed = options.subscribers - pool.connected();
  report.streams_closed = pool.closed_after_connect();
  report.resets = pool.resets();
  report.messages_published = published.published;
  report.publish_errors = published.failed;
  report.post_latency_p50_ms = published.post_p50_ms;
  report.post_latency_p99_ms = published.post_p99_ms;
  if (published.last_end_ns > published.first_start_ns) {
    report.publish_rate = static_cast<double>(published.published + published.failed) * 1e9 /
                          static_cast<double>(published.last_end_ns - published.first_start_ns);
  }
  if (options.listen_only && first_event_ns > 0 && last_event_ns > first_event_ns) {
    // From the first event this process saw: the publisher's start is in another process.
    report.deliveries_per_s = static_cast<double>(report.deliveries) * 1e9 /
                              static_cast<double>(last_event_ns - first_event_ns);
  } else if (published.first_start_ns > 0 && last_event_ns > published.first_start_ns) {
    report.deliveries_per_s = static_cast<double>(report.deliveries) * 1e9 /
                              static_cast<double>(last_event_ns - published.first_start_ns);
  }
  report.latency_p50_ms = static_cast<double>(latency.percentile_ns(0.50)) / 1e6;
  report.latency_p99_ms = static_cast<double>(latency.percentile_ns(0.99)) / 1e6;
  report.latency_max_ms = static_cast<double>(latency.max_ns()) / 1e6;
  DeliveryLedger::Totals totals = ledger.totals(pool.connected_flags());
  report.missing = totals.missing;
  report.duplicated = totals.duplicated;
  report.out_of_order = totals.out_of_order;
  report.unexpected = totals.unexpected;
  report.subscribers_missing = totals.subscribers_missing;
  report.subscribers_duplicated = totals.subscribers_duplicated;
  report.subscribers_out_of_order = totals.subscribers_out_of_order;
  if (cpu_before && cpu_after && report.deliveries > 0) {
    report.server_cpu_us_per_delivery =
        static_cast<double>(*cpu_after - *cpu_before) / static_cast<double>(report.deliveries);
  }
  if (cpu_before && cpu_after && published.published > 0) {
    report.server_cpu_us_per_post =
        static_cast<double>(*cpu_after - *cpu_before) / static_cast<double>(published.published);
  }
  report.elapsed_s = static_cast<double>(finish_ns - run_start_ns) / 1e9;
  return report;
}

}  // namespace relay::load
