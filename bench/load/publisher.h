#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>

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

/// Publishes seqs 0..messages-1 over `publishers` keep-alive connections, each with at most one
/// POST in flight, all driven by one epoll thread (so the generator's own cost per POST is a
/// send, a receive and a share of one wake-up, whichever server it measures). Content is
/// "s=<seq> t=<ns>" (on the nchan path that is the whole body); each request goes out in one
/// write. At `rate` > 0 message k is due at start + k/rate; at 0 as fast as possible. On the
/// notify path the ids are base_id + seq, and one POST is in flight at a time, in id order
/// (notify-service ignores an id at or below the highest it has seen, so concurrent posts would
/// drop messages). A POST without a complete answer within 10 s, or on a connection that failed,
/// counts as failed and its connection is opened again. Not copyable; start() once, stop() once.
class Publisher {
 public:
  Publisher(const LoadOptions& options, int64_t base_id);
  ~Publisher() { stop(); }
  Publisher(const Publisher&) = delete;
  Publisher& operator=(const Publisher&) = delete;

  void start();
  /// True when every message was posted (or failed) and every answer is in.
  bool done() const { return running_.load() == 0; }
  /// Asks the thread to stop (a POST in flight is abandoned) and joins it.
  void stop();
  /// Valid after stop().
  PublishStats stats() const;

 private:
  struct Batch {
    uint64_t first_seq = 0;
    uint64_t count = 0;
  };
  struct Connection;

  void run();
  bool claim(Batch* batch);
  std::string body_for(const Batch& batch, int64_t start_ns) const;
  std::string request_for(const Batch& batch, int64_t start_ns) const;
  /// Records one finished POST.
  void record(const Batch& batch, bool ok, int64_t start_ns, int64_t end_ns);

  LoadOptions options_;
  int64_t base_id_;
  int port_ = 0;
  std::string target_;
  std::thread thread_;
  std::atomic<int> running_{0};
  std::atomic<bool> stop_{false};
  uint64_t next_seq_ = 0;  // the publishing thread's only
  int64_t schedule_start_ns_ = 0;
  mutable std::mutex stats_mutex_;
  PublishStats stats_;             // guarded by stats_mutex_
  LatencyHistogram post_latency_;  // guarded by stats_mutex_
};

}  // namespace relay::load
