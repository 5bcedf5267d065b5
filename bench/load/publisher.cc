#include "bench/load/publisher.h"

#include <time.h>

#include <algorithm>

#include <fmt/format.h>
#include <httplib.h>

#include "bench/load/load_stamp.h"

namespace relay::load {

namespace {

constexpr int64_t kSleepSliceNs = 50'000'000;

}  // namespace

Publisher::Publisher(const LoadOptions& options, int64_t base_id)
    : options_(options), base_id_(base_id) {}

void Publisher::start() {
  schedule_start_ns_ = monotonic_ns();
  running_ = options_.publishers;
  for (size_t i = 0; i < options_.publishers; ++i) threads_.emplace_back([this] { run_thread(); });
}

PublishStats Publisher::stats() const {
  PublishStats stats = stats_;
  stats.post_p50_ms = static_cast<double>(post_latency_.percentile_ns(0.50)) / 1e6;
  stats.post_p99_ms = static_cast<double>(post_latency_.percentile_ns(0.99)) / 1e6;
  return stats;
}

void Publisher::stop() {
  stop_ = true;
  for (std::thread& thread : threads_) thread.join();
  threads_.clear();
}

bool Publisher::claim(Batch* batch) {
  size_t size = options_.path == PublishPath::kNotify ? options_.batch : 1;
  uint64_t first = next_seq_.fetch_add(size);
  if (first >= options_.messages) return false;
  batch->first_seq = first;
  batch->count = std::min<uint64_t>(size, options_.messages - first);
  return true;
}

bool Publisher::wait_until(int64_t due_ns) {
  while (!stop_) {
    int64_t now = monotonic_ns();
    if (now >= due_ns) return true;
    int64_t wake = std::min(due_ns, now + kSleepSliceNs);
    timespec until{static_cast<time_t>(wake / 1'000'000'000),
                   static_cast<long>(wake % 1'000'000'000)};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr);
  }
  return false;
}

std::string Publisher::body_for(const Batch& batch, int64_t start_ns) const {
  if (options_.path == PublishPath::kNchan) return format_load_content({batch.first_seq, start_ns});
  if (options_.path == PublishPath::kMessages) {
    return fmt::format(R"({{"content":"{}"}})", format_load_content({batch.first_seq, start_ns}));
  }
  std::string body = batch.count > 1 ? "[" : "";
  for (uint64_t seq = batch.first_seq; seq < batch.first_seq + batch.count; ++seq) {
    if (seq != batch.first_seq) body += ',';
    body += fmt::format(R"({{"id":"{}","content":"{}","user":"load","channel":"general",)"
                        R"("timestamp":"2026-01-01T00:00:00.000Z"}})",
                        base_id_ + static_cast<int64_t>(seq), format_load_content({seq, start_ns}));
  }
  if (batch.count > 1) body += ']';
  return body;
}

void Publisher::run_thread() {
  bool notify = options_.path == PublishPath::kNotify;
  bool nchan = options_.path == PublishPath::kNchan;
  int port =
      notify ? options_.notify_port : (nchan ? options_.nchan_pub_port : options_.message_port);
  httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(true);
  client.set_tcp_nodelay(true);  // headers and body go out as two writes; Nagle would hold one
  client.set_connection_timeout(2, 0);
  client.set_read_timeout(10, 0);
  client.set_write_timeout(10, 0);
  std::string target = notify ? "/notify" : (nchan ? options_.nchan_pub_path : "/messages");
  const char* content_type = nchan ? "text/plain" : "application/json";
  while (!stop_) {
    std::unique_lock<std::mutex> order_lock(notify_order_mutex_, std::defer_lock);
    if (notify) order_lock.lock();
    Batch batch;
    if (!claim(&batch)) break;
    if (options_.rate > 0) {
      auto due = schedule_start_ns_ +
                 static_cast<int64_t>(static_cast<double>(batch.first_seq) * 1e9 / options_.rate);
      if (!wait_until(due)) break;
    }
    int64_t start_ns = monotonic_ns();
    auto result = client.Post(target.c_str(), body_for(batch, start_ns), content_type);
    int64_t end_ns = monotonic_ns();
    bool ok = result && result->status >= 200 && result->status < 300;
    std::lock_guard<std::mutex> lock(stats_mutex_);
    (ok ? stats_.published : stats_.failed) += batch.count;
    if (stats_.first_start_ns == 0 || start_ns < stats_.first_start_ns) {
      stats_.first_start_ns = start_ns;
    }
    stats_.last_end_ns = std::max(stats_.last_end_ns, end_ns);
    post_latency_.record(end_ns - start_ns);
  }
  --running_;
}

}  // namespace relay::load
