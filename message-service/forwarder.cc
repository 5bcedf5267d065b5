#include "message-service/forwarder.h"

#include <algorithm>
#include <chrono>
#include <limits>

namespace relay {

Forwarder::Forwarder(MessageStore& store, SendBatch send, Options options, const Logger& logger,
                     MetricsRegistry& metrics)
    : store_(store),
      send_(std::move(send)),
      options_(std::move(options)),
      logger_(logger),
      forwarded_(metrics.counter("relay_messages_forwarded_total",
                                 "Messages acknowledged by notify-service.")),
      errors_(metrics.counter("relay_forward_errors_total",
                              "Failed attempts to deliver a batch to notify-service.")),
      batches_(metrics.counter("relay_forward_batches_total",
                               "Batches acknowledged by notify-service.")) {
  leading_ = options_.starts_leading;
  metrics.gauge("relay_forward_backlog",
                "Messages stored but not yet acknowledged by notify-service.", [this] {
                  auto messages = backlog();
                  return messages ? static_cast<double>(*messages)
                                  : std::numeric_limits<double>::quiet_NaN();
                });
}

Forwarder::~Forwarder() {
  stop();
}

void Forwarder::start() {
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

void Forwarder::set_leading(bool leading) {
  {
    std::lock_guard lock(mutex_);
    if (leading_.load() == leading) return;
    leading_ = leading;
    wakes_.fetch_add(1);  // an idle thread looks again
  }
  wakeup_.notify_all();
}

void Forwarder::wake() {
  wakes_.fetch_add(1);
  if (!idle_.load()) return;
  // Under the mutex, so the signal cannot fall between the thread's check and its wait.
  std::lock_guard lock(mutex_);
  wakeup_.notify_one();
}

void Forwarder::committed(const Message& message) {
  {
    std::lock_guard lock(recent_mutex_);
    recent_.push_back(message);
    recent_bytes_ += message.content.size();
    while (recent_bytes_ > kMaxRecentBytes && !recent_.empty()) {
      recent_bytes_ -= recent_.front().content.size();
      recent_.pop_front();
    }
  }
  wake();
}

std::vector<Message> Forwarder::take_recent(int64_t cursor) {
  std::vector<Message> batch;
  std::lock_guard lock(recent_mutex_);
  auto drop_front = [&] {
    recent_bytes_ -= recent_.front().content.size();
    recent_.pop_front();
  };
  while (!recent_.empty() && recent_.front().id <= cursor) drop_front();
  size_t bytes = 0;
  int64_t next = cursor + 1;
  while (!recent_.empty() && recent_.front().id == next && batch.size() < options_.batch_size &&
         bytes < options_.batch_bytes) {
    bytes += recent_.front().content.size();
    batch.push_back(std::move(recent_.front()));
    drop_front();
    ++next;
  }
  return batch;
}

std::optional<int64_t> Forwarder::backlog() {
  int64_t cursor = cursor_.load();
  if (!leading_.load()) {
    auto stored = store_.forwarded_upto();
    if (!stored.ok()) return std::nullopt;
    cursor = *stored;
  }
  if (cursor < 0) return std::nullopt;  // not loaded yet
  auto last = store_.last_id();
  if (!last.ok()) return std::nullopt;
  return std::max<int64_t>(0, *last - cursor);
}

void Forwarder::wait(uint64_t seen_wakes, int timeout_ms, bool until_news) {
  std::unique_lock lock(mutex_);
  if (!until_news) {  // a backoff: only stop() ends it early, so wakes need not signal
    wakeup_.wait_for(lock, std::chrono::milliseconds(timeout_ms), [&] { return stopping_; });
    return;
  }
  idle_ = true;
  auto news = [&] { return stopping_ || wakes_.load() != seen_wakes; };
  if (timeout_ms < 0) {
    wakeup_.wait(lock, news);
  } else {
    wakeup_.wait_for(lock, std::chrono::milliseconds(timeout_ms), news);
  }
  idle_ = false;
}

void Forwarder::save_cursor() {
  int64_t upto = cursor_.load();
  if (!store_.set_forwarded_upto(upto)) {
    logger_.error("cannot record forward cursor", {{"upto", upto}});
  }
}

bool Forwarder::load_cursor() {
  int retry_ms = options_.retry_initial_ms;
  bool failing = false;
  while (true) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return false;
    }
    auto upto = store_.forwarded_upto();
    if (upto.ok()) {
      cursor_ = *upto;
      if (failing) logger_.info("store readable again", {{"forwarded_upto", *upto}});
      return true;
    }
    if (!failing) {
      logger_.error("cannot read the forward cursor; retrying", {{"error", upto.error}});
      failing = true;
    }
    wait(0, retry_ms, false);
    retry_ms = std::min(retry_ms * 2, options_.retry_max_ms);
  }
}

bool Forwarder::wait_for_lease(int64_t* saved_cursor) {
  if (cursor_.load() >= 0 && cursor_.load() != *saved_cursor) {
    save_cursor();  // what this leader had sent; the stored cursor never moves back
    *saved_cursor = cursor_.load();
  }
  logger_.info("forwarding on standby: another instance holds the lease");
  {
    std::unique_lock lock(mutex_);
    wakeup_.wait(lock, [&] { return stopping_ || leading_.load(); });
    if (stopping_) return false;
  }
  if (!load_cursor()) return false;
  *saved_cursor = cursor_.load();
  logger_.info("forwarding: this instance holds the lease", {{"forwarded_upto", cursor_.load()}});
  return true;
}

void Forwarder::run() {
  using Clock = std::chrono::steady_clock;
  int64_t saved_cursor = -1;
  if (!leading_.load()) {
    if (!wait_for_lease(&saved_cursor)) return;
  } else if (!load_cursor()) {
    return;
  }
  int retry_ms = options_.retry_initial_ms;
  bool failing = false;
  bool read_failing = false;
  saved_cursor = cursor_.load();
  auto saved_at = Clock::now();
  while (true) {
    uint64_t seen_wakes = wakes_.load();
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    if (!leading_.load()) {
      if (!wait_for_lease(&saved_cursor)) return;
      saved_at = Clock::now();
      continue;
    }
    if (cursor_.load() != saved_cursor &&
        Clock::now() - saved_at >= std::chrono::milliseconds(options_.cursor_save_ms)) {
      save_cursor();
      saved_cursor = cursor_.load();
      saved_at = Clock::now();
    }
    std::vector<Message> batch = take_recent(cursor_.load());
    if (batch.empty()) {
      auto loaded = store_.load_after(cursor_.load(), options_.batch_size, options_.batch_bytes);
      if (loaded.ok()) {
        batch = std::move(*loaded);
      } else {
        // Nothing is lost: the messages stay stored; read again after a backoff.
        if (!read_failing) {
          logger_.error("cannot read messages to forward; retrying", {{"error", loaded.error}});
          read_failing = true;
        }
        wait(seen_wakes, retry_ms, false);
        retry_ms = std::min(retry_ms * 2, options_.retry_max_ms);
        continue;
      }
      if (read_failing) {
        logger_.info("store readable again", {{"cursor", cursor_.load()}});
        read_failing = false;
        retry_ms = options_.retry_initial_ms;
      }
    }
    if (batch.empty()) {
      // Idle: with an unsaved cursor, come back when it is due.
      int due_ms = -1;
      if (cursor_.load() != saved_cursor) {
        auto since = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - saved_at);
        due_ms = std::max<int>(1, options_.cursor_save_ms - static_cast<int>(since.count()));
      }
      wait(seen_wakes, due_ms, true);
      continue;
    }
    std::string error;
    if (send_(batch, &error)) {
      cursor_ = batch.back().id;
      forwarded_.add(batch.size());
      batches_.add();
      last_attempt_ok_ = true;
      retry_ms = options_.retry_initial_ms;
      if (failing) {
        logger_.info(options_.target + " reachable again", {{"resumed_from", batch.front().id}});
        failing = false;
      }
      continue;
    }
    errors_.add();
    last_attempt_ok_ = false;
    if (!failing) {
      logger_.warn("cannot forward to " + options_.target + "; retrying with backoff",
                   {{"error", error}, {"first_id", batch.front().id}, {"count", batch.size()}});
      failing = true;
    }
    wait(seen_wakes, retry_ms, false);
    retry_ms = std::min(retry_ms * 2, options_.retry_max_ms);
  }
  if (cursor_.load() != saved_cursor) save_cursor();
}

}  // namespace relay
