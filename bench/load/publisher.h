#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/load/latency_histogram.h"
#include "bench/load/load_options.h"

namespace relay::load {

/// What the publishers did, read after stop().
struct PublishStats {
  uint64_t published = 0;      // messages whose POST got a 2xx
  uint64_t failed = 0;         // messages whose POST failed or got another status
  int64_t first_start_ns = 0;  // CLOCK_MONOTONIC when the first POST started
  int64_t last_end_ns = 0;     // when the last POST returned
  double post_p50_ms = 0;      // POST call start to response, over every POST
  double post_p99_ms = 0;
};

/// Publishes seqs 0..messages-1 from `publishers` threads, each with its own keep-alive
/// httplib::Client, with content "s=<seq> t=<ns>" (on the nchan path that is the whole body). At
/// `rate` > 0 message k is due at start + k/rate; at 0 as fast as possible. On the notify path the
/// ids are base_id + seq, and posts are made one at a time in id order (notify-service ignores an
/// id at or below the highest it has seen, so concurrent posts would drop messages). Not copyable;
/// start() once, stop() once.
class Publisher {
 public:
  Publisher(const LoadOptions& options, int64_t base_id);
  ~Publisher() { stop(); }
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void start();
  /// True when every thread has finished its work.
  bool done() const { return running_.load() == 0; }
  /// Asks the threads to stop (a POST in flight finishes or times out) and joins them.
  void stop();
  /// Valid after stop().
  PublishStats stats() const;

 private:
  struct Batch {
    uint64_t first_seq = 0;
    uint64_t count = 0;
  };

  void run_thread();
  bool claim(Batch* batch);
  bool wait_until(int64_t due_ns);
  std::string body_for(const Batch& batch, int64_t start_ns) const;

  LoadOptions options_;
  int64_t base_id_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> running_{0};
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> next_seq_{0};
  std::mutex notify_order_mutex_;  // held across a notify-path POST to keep ids in order
  int64_t schedule_start_ns_ = 0;
  std::mutex stats_mutex_;
  PublishStats stats_;             // guarded by stats_mutex_ until stop()
  LatencyHistogram post_latency_;  // guarded by stats_mutex_ until stop()
};

}  // namespace relay::load
