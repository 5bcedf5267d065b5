#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shared/message.h"
#include "shared/private_channels.h"

namespace relay {

/// A message encoded once for every subscriber: its SSE frame, plus the message for filtering.
struct Event {
  Message message;
  std::string frame;
};
using EventPtr = std::shared_ptr<const Event>;

/// Encodes an event as the SSE frame every stream receives (`id: N` / `event: <kind>` /
/// `data: {...,"type":"<kind>"}`; transient kinds have no `id:` line).
EventPtr make_message_event(const Message& message);

/// One open stream's mailbox: the events published for it and not yet taken by its writer.
/// The hub appends; the stream's writer takes. Thread-safe.
class Subscriber {
 public:
  /// `on_ready`, when set, is called (from the publishing thread, without this subscriber's lock)
  /// whenever events arrive in an empty queue and when the subscriber is cut or closed: the signal
  /// an event loop needs to come and take them. It must be cheap and must not call the hub.
  explicit Subscriber(MessageFilter filter, std::function<void()> on_ready = {})
      : filter_(std::move(filter)), on_ready_(std::move(on_ready)) {}

  /// What the writer gets: the events queued since the last call, in id order; `ended` when the
  /// hub closed this subscriber (it fell too far behind, or the service is stopping).
  struct Batch {
    std::vector<EventPtr> events;
    bool ended = false;
  };
  /// Waits up to `timeout` for events (returns at once when some are queued; never sleeps when
  /// `timeout` is zero).
  Batch wait_for_events(std::chrono::milliseconds timeout);

  const MessageFilter& filter() const { return filter_; }
  /// True when the hub closed this subscriber because its backlog passed the cap.
  bool was_cut() const;

 private:
  friend class Hub;
  /// Queues those of `events` its filter lets through, or cuts the subscriber when events were
  /// already waiting and the queue would pass `max_backlog_bytes` (so a stream holds at most the
  /// cap plus one batch). `private_channels` decides who may see a private channel's events.
  /// Returns false when it was cut (now or before).
  bool push(const std::vector<EventPtr>& events, size_t max_backlog_bytes,
            const PrivateChannels& private_channels);
  void close();

  const MessageFilter filter_;
  const std::function<void()> on_ready_;
  mutable std::mutex mutex_;
  std::condition_variable ready_;
  /// A vector, not a deque: an empty std::deque still holds a 512-byte block, which was a
  /// quarter of what an idle stream cost.
  std::vector<EventPtr> pending_;  // guarded by mutex_
  size_t pending_bytes_ = 0;       // guarded by mutex_
  bool cut_ = false;               // guarded by mutex_
  bool closed_ = false;            // guarded by mutex_
  /// Where the hub keeps this subscriber in its list (guarded by the hub's mutex; kNoSlot when
  /// not listed), so leaving costs O(1) with tens of thousands of streams.
  static constexpr size_t kNoSlot = static_cast<size_t>(-1);
  size_t slot_ = kNoSlot;
};

/// The fan-out hub: receives messages (in id order, at least once), drops ids it has already seen,
/// keeps the most recent ones in a ring for resuming streams, and queues each new message for
/// every subscriber whose filter matches it. Knows nothing of HTTP; any transport can drive it.
/// Private channels: the hub holds the current table of private channels and their members, and
/// every event of a private channel (live, from the ring, transient) reaches members only; a new
/// table applies to the open subscribers at once, and each member it adds or removes is told with
/// a membership event. Thread-safe.
class Hub {
 public:
  struct Options {
    size_t ring_size = 10000;
    size_t max_backlog_bytes = 1 << 20;
    size_t max_subscribers = 10000;
  };
  /// Counters the hub updates; the owner renders them.
  struct Stats {
    std::function<void(size_t)> on_cut;  // a subscriber was cut for falling behind
  };

  Hub(Options options, Stats stats);

  /// How a new subscriber catches up with what it missed before `last_event_id`.
  enum class Resume {
    kLiveOnly,      // no last_event_id: live events only
    kFromRing,      // the missed events were queued from the ring
    kNeedsHistory,  // the ring does not reach back: the caller must fetch history
  };
  struct Subscription {
    std::shared_ptr<Subscriber> subscriber;  // null when the hub is full or stopping
    Resume resume = Resume::kLiveOnly;
    /// The hub's newest id when the subscriber registered: every message above it is queued for
    /// the subscriber (or was cut with it).
    int64_t hub_last_id = 0;
  };
  /// Registers a subscriber. Every event published after this call is queued for it. With
  /// `last_event_id`, the matching ring events after it are queued first when the ring reaches back
  /// that far and they fit in the backlog cap (kFromRing); otherwise kNeedsHistory. A
  /// `last_event_id` above last_id() is kNeedsHistory too: only the store can say whether it is
  /// real (the hub may lag) or ahead of every id (then the stream must reset, not wait for it).
  /// `on_ready` becomes the subscriber's wake-up signal (see Subscriber).
  Subscription subscribe(MessageFilter filter, std::optional<int64_t> last_event_id,
                         std::function<void()> on_ready = {});
  void unsubscribe(const std::shared_ptr<Subscriber>& subscriber);

  /// Publishes the messages whose ids are above every id seen so far (others are duplicates from
  /// an at-least-once sender). `messages` must be in ascending id order. Returns how many were new.
  size_t publish(const std::vector<Message>& messages);

  /// Queues a transient event (typing, presence: id 0) for every subscriber whose filter matches
  /// it, now. Not deduplicated, not kept in the ring, not counted in last_id().
  void publish_transient(const Message& message);

  /// The ring's events after `after_id` that `filter` matches (whatever the ring still holds).
  std::vector<EventPtr> ring_events_after(int64_t after_id, const MessageFilter& filter);

  /// Replaces the table of private channels (any version: message-service's table is the truth)
  /// and announces to the subscribers each member it added or removed ("membership" events, to
  /// that user and to the channel's members).
  void set_private_channels(PrivateChannelsPtr table);
  /// The table in force (never null; empty at start).
  PrivateChannelsPtr private_channels();
  /// Whether any table was set since the hub started.
  bool knows_private_channels();

  /// Closes every subscriber and refuses new ones.
  void shutdown();

  size_t subscriber_count();
  int64_t last_id();

 private:
  bool ring_reaches_back_to(int64_t id) const;
  /// Queues `events` for every subscriber (each takes what its filter lets through) and drops
  /// those cut for falling behind. Needs mutex_.
  void push_to_all_locked(const std::vector<EventPtr>& events);
  /// Removes subscribers_[slot] by moving the last one into its place. Needs mutex_.
  void remove_slot_locked(size_t slot);

  const Options options_;
  Stats stats_;
  std::mutex mutex_;
  std::vector<std::shared_ptr<Subscriber>> subscribers_;  // guarded by mutex_
  std::deque<EventPtr> ring_;                             // guarded by mutex_
  /// Every message with an id above ring_floor_ that reached this hub is in the ring; unset until
  /// the first message arrives (the hub cannot know what came before it started).
  std::optional<int64_t> ring_floor_;                                          // guarded by mutex_
  int64_t last_id_ = 0;                                                        // guarded by mutex_
  bool stopping_ = false;                                                      // guarded by mutex_
  PrivateChannelsPtr private_channels_ = std::make_shared<PrivateChannels>();  // guarded by mutex_
  bool knows_private_channels_ = false;                                        // guarded by mutex_
};

}  // namespace relay
