#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace relay {

/// A fixed number of threads running queued tasks in order of submission, with a bounded queue,
/// for the blocking work of a server (store reads, outbound HTTP calls, history replays): never a
/// thread per request. Thread-safe: submit() may be called from any thread, also from a task.
class WorkerPool {
 public:
  /// Starts `threads` (at least 1) workers; at most `max_queued` tasks wait at once.
  WorkerPool(size_t threads, size_t max_queued);
  /// stop()s.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  /// Queues `task`. False (and `task` is not run) when the queue is full or the pool stopped.
  bool submit(std::function<void()> task);
  /// Runs what is queued, then joins every worker; submit() fails from then on. Idempotent. Must
  /// not be called from a task.
  void stop();

  size_t threads() const { return workers_.size(); }
  size_t queued() const;

 private:
  void run();

  const size_t max_queued_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<std::function<void()>> tasks_;  // guarded by mutex_
  bool stopping_ = false;                    // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace relay
