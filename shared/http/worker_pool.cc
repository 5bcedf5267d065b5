#include "shared/http/worker_pool.h"

#include <algorithm>
#include <utility>

namespace relay {

WorkerPool::WorkerPool(size_t threads, size_t max_queued) : max_queued_(max_queued) {
  threads = std::max<size_t>(threads, 1);
  workers_.reserve(threads);
  for (size_t i = 0; i < threads; ++i) workers_.emplace_back([this] { run(); });
}

WorkerPool::~WorkerPool() {
  stop();
}

bool WorkerPool::submit(std::function<void()> task, Priority priority) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || tasks_.size() + background_.size() >= max_queued_) return false;
    (priority == Priority::kUrgent ? tasks_ : background_).push_back(std::move(task));
  }
  changed_.notify_one();
  return true;
}

void WorkerPool::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  for (auto& worker : workers_) {
    if (worker.joinable()) worker.join();
  }
}

size_t WorkerPool::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return tasks_.size() + background_.size();
}

void WorkerPool::run() {
  while (true) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [this] { return stopping_ || !tasks_.empty() || !background_.empty(); });
      // Stopping still runs what was queued: a worker leaves only once the queue is empty.
      auto& queue = !tasks_.empty() ? tasks_ : background_;
      if (queue.empty()) return;
      task = std::move(queue.front());
      queue.pop_front();
    }
    // A task that throws ends that task only; the worker goes on with the next.
    try {
      task();
    } catch (...) {
    }
  }
}

}  // namespace relay
