#include "message-service/forwarder.h"

#include <algorithm>
#include <chrono>

namespace relay {

Forwarder::Forwarder(MessageStore& store, SendBatch send, Options options, const Logger& logger,
                     MetricsRegistry& metrics)
    : store_(store),
      send_(std::move(send)),
      options_(options),
      logger_(logger),
      forwarded_(metrics.counter("relay_messages_forwarded_total",
                                 "Messages acknowledged by notify-service.")),
      errors_(metrics.counter("relay_forward_errors_total",
                              "Failed attempts to deliver a batch to notify-service.")),
      batches_(metrics.counter("relay_forward_batches_total",
                               "Batches acknowledged by notify-service.")) {
  metrics.gauge("relay_forward_backlog",
                "Messages stored but not yet acknowledged by notify-service.",
                [this] { return static_cast<double>(backlog()); });
}

Forwarder::~Forwarder() {
  stop();
}

void Forwarder::start() {
  cursor_ = store_.forwarded_upto();
  thread_ = std::thread([this] { run(); });
}

void Forwarder::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wakeup_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Forwarder::wake() {
  wakes_.fetch_add(1);
  if (!idle_.load()) return;
  // Under the mutex, so the signal cannot fall between the thread's check and its wait.
  std::lock_guard lock(mutex_);
  wakeup_.notify_one();
}

int64_t Forwarder::backlog() {
  return std::max<int64_t>(0, store_.last_id() - cursor_.load());
}

void Forwarder::wait(uint64_t seen_wakes, int timeout_ms) {
  std::unique_lock lock(mutex_);
  if (timeout_ms >= 0) {  // a backoff: only stop() ends it early, so wakes need not signal
    wakeup_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return stopping_; });
    return;
  }
  idle_ = true;
  wakeup_.wait(lock, [&] { return stopping_ || wakes_.load() != seen_wakes; });
  idle_ = false;
}

void Forwarder::run() {
  int retry_ms = options_.retry_initial_ms;
  bool failing = false;
  while (true) {
    uint64_t seen_wakes = wakes_.load();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
    }
    auto batch = store_.load_after(cursor_.load(), options_.batch_size, options_.batch_bytes);
    if (batch.empty()) {
      wait(seen_wakes, -1);
      continue;
    }
    std::string error;
    if (send_(batch, &error)) {
      int64_t last = batch.back().id;
      if (!store_.set_forwarded_upto(last)) {
        logger_.error("cannot record forward cursor", {{"upto", last}});
      }
      cursor_ = last;
      forwarded_.add(batch.size());
      batches_.add();
      last_attempt_ok_ = true;
      retry_ms = options_.retry_initial_ms;
      if (failing) {
        logger_.info("notify-service reachable again", {{"resumed_from", batch.front().id}});
        failing = false;
      }
      continue;
    }
    errors_.add();
    last_attempt_ok_ = false;
    if (!failing) {
      logger_.warn("cannot forward to notify-service; retrying with backoff",
                   {{"error", error}, {"first_id", batch.front().id}, {"count", batch.size()}});
      failing = true;
    }
    wait(seen_wakes, retry_ms);
    retry_ms = std::min(retry_ms * 2, options_.retry_max_ms);
  }
}

}  // namespace relay
