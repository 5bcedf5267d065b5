#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "notify-service/hub.h"
#include "shared/http/http_reply.h"
#include "shared/metrics.h"

namespace relay {

/// One page of message-service's history, and the store's newest id when the answer carried it.
struct HistoryPage {
  /// A page from a source that does not say the store's newest id (implicit: such a source may
  /// return its events as they are).
  HistoryPage(std::vector<Message> events = {}, std::optional<int64_t> store_last_id = {})
      : events(std::move(events)), store_last_id(store_last_id) {}

  std::vector<Message> events;
  /// The newest id in the whole store (whatever the filter), read with the page; nullopt when the
  /// answer did not say (an older message-service).
  std::optional<int64_t> store_last_id;
};

/// Reads one page of message-service's history: the events (messages and receipts) `filter` lets
/// through with ids after `after`, ascending, at most `limit`. Returns nullopt when the history
/// cannot be read.
using HistoryFetch = std::function<std::optional<HistoryPage>(const MessageFilter& filter,
                                                              int64_t after, int limit)>;

struct StreamOptions {
  int retry_ms = 2000;
  std::chrono::milliseconds heartbeat{15000};
  int history_page_size = 1000;
};

/// The counters every stream updates.
struct StreamCounters {
  Counter& events_sent;
  Counter& heartbeats_sent;
  Counter& ring_replays;
  Counter& history_replays;
  Counter& resets;
};

/// What one SSE stream sends, independent of the transport that writes it: first `retry:` and
/// `event: connected`, then (when resuming) the missed messages from the hub's ring or from
/// message-service's history page by page, or `event: reset` when neither can supply them, then
/// live events and `: ping` heartbeats. A Last-Event-ID above the store's newest id (or one above
/// the hub's newest that the store cannot confirm) gets `event: reset` and the stream continues
/// from the newest id known, so the next real message is delivered, never skipped as "seen".
/// Guarantees per stream: ascending ids, no duplicates, no gaps while connected. Used by one
/// writer thread at a time. As the server's StreamSource it is pulled on a worker while it replays
/// history (blocking()), then on its connection's loop.
class StreamSession : public StreamSource {
 public:
  StreamSession(Hub& hub, Hub::Subscription subscription, std::optional<int64_t> last_event_id,
                std::string client_id, StreamOptions options, HistoryFetch fetch_history,
                StreamCounters counters);

  /// The next bytes to write. Waits for them up to `max_wait` (or until the next heartbeat is due,
  /// whichever is sooner) and returns an empty string when nothing came, so the transport can check
  /// that its peer is still there and call again. Returns nullopt when the stream must end (the
  /// hub cut it or the service is stopping). Without `max_wait` it never returns empty.
  std::optional<std::string> next_chunk(
      std::optional<std::chrono::milliseconds> max_wait = std::nullopt);

  // StreamSource: the next chunk without waiting; blocking while history is replayed; cut when
  // the hub cut the subscriber for its backlog; closed() calls the on_closed callback once.
  std::optional<std::string> pull() override { return next_chunk(std::chrono::milliseconds(0)); }
  bool blocking() const override { return needs_history() && phase_ != Phase::kLive; }
  bool cut() const override { return subscription_.subscriber->was_cut(); }
  void closed() override;
  /// Called once when the server closed the stream's connection (on the loop thread).
  void set_on_closed(std::function<void(const StreamSession&)> on_closed) {
    on_closed_ = std::move(on_closed);
  }

  const std::shared_ptr<Subscriber>& subscriber() const { return subscription_.subscriber; }
  /// True when the stream must first replay message-service's history: next_chunk() then makes
  /// blocking HTTP calls until live() (so an event loop runs it elsewhere until then).
  bool needs_history() const { return subscription_.resume == Hub::Resume::kNeedsHistory; }
  /// True once the greeting and any replay are written: next_chunk() no longer blocks.
  bool live() const { return phase_ == Phase::kLive; }
  const std::string& client_id() const { return client_id_; }
  /// The id of the last message written to this stream (or the resume point). Unlike the rest,
  /// safe to call from another thread while the writer runs (the server logs it when a stream
  /// closes during a history replay, whose worker may still be writing).
  int64_t last_sent_id() const { return last_sent_id_.load(std::memory_order_relaxed); }

 private:
  enum class Phase { kGreeting, kHistory, kLive };

  std::string greeting();
  std::string next_history_page();
  /// `event: reset` (counted) saying the stream continues after `continue_from`, then what the
  /// ring holds after it; the stream is live from here.
  std::string reset_to(int64_t continue_from, const char* reason, const std::string& detail);
  /// Appends the frames of `events` newer than last_sent_id_ to `out`.
  void append_new(const std::vector<EventPtr>& events, std::string* out);

  Hub& hub_;
  Hub::Subscription subscription_;
  std::optional<int64_t> resume_from_;
  std::string client_id_;
  StreamOptions options_;
  HistoryFetch fetch_history_;
  StreamCounters counters_;
  Phase phase_ = Phase::kGreeting;
  std::atomic<int64_t> last_sent_id_{0};  // written by the writer only
  /// The highest id read from history so far: the next page starts after it, even when a page
  /// held nothing this stream may see.
  int64_t history_cursor_ = 0;
  bool history_read_ = false;  // true once the first history page was asked for
  std::chrono::steady_clock::time_point last_write_;
  std::function<void(const StreamSession&)> on_closed_;
};

}  // namespace relay
