#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace relay {

/// A fixed number of threads running queued tasks, with a bounded queue, for the blocking work of
/// a server (store reads, outbound HTTP calls, history replays): never a thread per request. Two
/// priorities: urgent tasks (requests a client waits on, such as the forwarder's POST /notify) run
/// before background ones (replay pages of resuming streams), each kind in order of submission, so
/// a mass resume cannot hold up delivery. Thread-safe: submit() may be called from any thread,
/// also from a task.
class WorkerPool {
 public:
  /// Starts `threads` (at least 1) workers; at most `max_queued` tasks wait at once.
  WorkerPool(size_t threads, size_t max_queued);
  /// stop()s.
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  enum class Priority { kUrgent, kBackground };
  /// Queues `task`. False (and `task` is not run) when the queue (both kinds together) is full or
  /// the pool stopped.
  bool submit(std::function<void()> task, Priority priority = Priority::kUrgent);
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
  std::deque<std::function<void()>> tasks_;       // guarded by mutex_: urgent ones
  std::deque<std::function<void()>> background_;  // guarded by mutex_
  bool stopping_ = false;                         // guarded by mutex_
  std::vector<std::thread> workers_;
};

}  // namespace relay
