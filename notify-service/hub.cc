#include "notify-service/hub.h"

#include <algorithm>
#include <iterator>
#include <set>
#include <utility>

#include "shared/sse.h"
#include "shared/time_format.h"

namespace relay {

EventPtr make_message_event(const Message& message) {
  std::string id = message.id > 0 ? std::to_string(message.id) : std::string();
  return std::make_shared<Event>(
      Event{message, sse_event(id, kind_name(message.kind), event_json(message))});
}

// ---- Subscriber ----

Subscriber::Batch Subscriber::wait_for_events(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  // A zero timeout must not reach the condition variable: glibc still sleeps in the kernel for an
  // already-passed deadline, which costs an event loop a context switch per stream.
  if (timeout.count() > 0) {
    ready_.wait_for(lock, timeout, [this] { return !pending_.empty() || cut_ || closed_; });
  }
  Batch batch;
  batch.ended = cut_ || closed_;
  // The queue is handed over whole (dropped when the stream ended), so an idle stream holds no
  // queue storage at all.
  std::vector<EventPtr> taken = std::exchange(pending_, {});
  if (!batch.ended) batch.events = std::move(taken);
  pending_bytes_ = 0;
  return batch;
}

bool Subscriber::was_cut() const {
  std::lock_guard lock(mutex_);
  return cut_;
}

bool Subscriber::push(const std::vector<EventPtr>& events, size_t max_backlog_bytes,
                      const PrivateChannels& private_channels) {
  bool alive;
  bool wake_writer;
  {
    std::lock_guard lock(mutex_);
    if (cut_ || closed_) return !cut_;
    // A writer that has taken everything queued is keeping up, so a batch into an empty queue is
    // always accepted; the cap applies to what piles up behind it.
    bool writer_caught_up = pending_.empty();
    size_t queued_before = pending_.size();
    for (size_t i = 0; i < events.size(); ++i) {
      const EventPtr& event = events[i];
      if (!filter_.matches(event->message, &private_channels)) continue;
      if (pending_.size() == pending_.capacity()) {  // room for the rest of the batch at once
        pending_.reserve(std::max(2 * pending_.capacity(), pending_.size() + events.size() - i));
      }
      pending_bytes_ += event->frame.size();
      pending_.push_back(event);
    }
    if (pending_.size() == queued_before) return true;  // nothing for this stream
    if (!writer_caught_up && pending_bytes_ > max_backlog_bytes) {
      cut_ = true;
      std::vector<EventPtr>().swap(pending_);
      pending_bytes_ = 0;
    }
    alive = !cut_;
    wake_writer = writer_caught_up || cut_;
  }
  ready_.notify_one();
  if (wake_writer && on_ready_) on_ready_();
  return alive;
}

void Subscriber::close() {
  {
    std::lock_guard lock(mutex_);
    closed_ = true;
  }
  ready_.notify_all();
  if (on_ready_) on_ready_();
}

// ---- Hub ----

Hub::Hub(Options options, Stats stats) : options_(options), stats_(std::move(stats)) {}

bool Hub::ring_reaches_back_to(int64_t id) const {
  return ring_floor_ && id >= *ring_floor_;
}

Hub::Subscription Hub::subscribe(MessageFilter filter, std::optional<int64_t> last_event_id,
                                 std::function<void()> on_ready) {
  std::lock_guard lock(mutex_);
  Subscription subscription;
  if (stopping_ || subscribers_.size() >= options_.max_subscribers) return subscription;
  subscription.subscriber = std::make_shared<Subscriber>(std::move(filter), std::move(on_ready));
  subscription.hub_last_id = last_id_;
  if (last_event_id) {
    // Replays from the ring when it reaches back far enough and the replay fits in the backlog
    // cap; otherwise the caller streams history from message-service page by page. An id ahead of
    // the hub goes to history as well: the ring cannot tell "not here yet" from "never".
    subscription.resume = Resume::kNeedsHistory;
    if (*last_event_id <= last_id_ && ring_reaches_back_to(*last_event_id)) {
      std::vector<EventPtr> missed;
      size_t missed_bytes = 0;
      for (const auto& event : ring_) {
        if (event->message.id > *last_event_id &&
            subscription.subscriber->filter().matches(event->message, private_channels_.get())) {
          missed.push_back(event);
          missed_bytes += event->frame.size();
        }
      }
      if (missed_bytes <= options_.max_backlog_bytes) {
        subscription.subscriber->push(missed, options_.max_backlog_bytes, *private_channels_);
        subscription.resume = Resume::kFromRing;
      }
    }
  }
  subscription.subscriber->slot_ = subscribers_.size();
  subscribers_.push_back(subscription.subscriber);
  return subscription;
}

void Hub::unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  std::lock_guard lock(mutex_);
  size_t slot = subscriber->slot_;
  if (slot < subscribers_.size() && subscribers_[slot] == subscriber) remove_slot_locked(slot);
}

void Hub::remove_slot_locked(size_t slot) {
  subscribers_[slot]->slot_ = Subscriber::kNoSlot;
  if (slot + 1 != subscribers_.size()) {
    subscribers_[slot] = std::move(subscribers_.back());
    subscribers_[slot]->slot_ = slot;
  }
  subscribers_.pop_back();
}

size_t Hub::publish(const std::vector<Message>& messages) {
  std::vector<EventPtr> fresh;
  std::lock_guard lock(mutex_);
  for (const auto& message : messages) {
    if (message.id <= last_id_) continue;
    if (!ring_floor_) ring_floor_ = message.id - 1;
    last_id_ = message.id;
    fresh.push_back(make_message_event(message));
  }
  if (fresh.empty()) return 0;
  for (const auto& event : fresh) {
    ring_.push_back(event);
    if (ring_.size() > options_.ring_size) {
      ring_floor_ = ring_.front()->message.id;
      ring_.pop_front();
    }
  }
  push_to_all_locked(fresh);
  return fresh.size();
}

void Hub::push_to_all_locked(const std::vector<EventPtr>& events) {
  size_t cut = 0;
  for (size_t i = 0; i < subscribers_.size();) {
    if (!subscribers_[i]->push(events, options_.max_backlog_bytes, *private_channels_)) {
      ++cut;
      remove_slot_locked(i);
      continue;
    }
    ++i;
  }
  if (cut > 0 && stats_.on_cut) stats_.on_cut(cut);
}

void Hub::publish_transient(const Message& message) {
  std::vector<EventPtr> event{make_message_event(message)};
  std::lock_guard lock(mutex_);
  push_to_all_locked(event);
}

std::vector<EventPtr> Hub::ring_events_after(int64_t after_id, const MessageFilter& filter) {
  std::lock_guard lock(mutex_);
  std::vector<EventPtr> events;
  for (const auto& event : ring_) {
    if (event->message.id > after_id && filter.matches(event->message, private_channels_.get()))
      events.push_back(event);
  }
  return events;
}

void Hub::set_private_channels(PrivateChannelsPtr table) {
  std::lock_guard lock(mutex_);
  // Who joined or left which channel: the union of both tables' channels, compared member by
  // member.
  std::vector<EventPtr> changes;
  int64_t now_ms = now_unix_ms();
  auto announce = [&](const std::string& channel, const std::string& user, const char* state) {
    Message change;
    change.kind = EventKind::kMembership;
    change.channel = channel;
    change.user = user;
    change.status = state;
    change.timestamp_ms = now_ms;
    changes.push_back(make_message_event(change));
  };
  static const std::set<std::string> kNobody;
  auto members_of = [](const PrivateChannels& of,
                       const std::string& channel) -> const std::set<std::string>& {
    auto found = of.members.find(channel);
    return found == of.members.end() ? kNobody : found->second;
  };
  std::set<std::string> channels;
  for (const auto& [name, members] : private_channels_->members) channels.insert(name);
  for (const auto& [name, members] : table->members) channels.insert(name);
  for (const auto& channel : channels) {
    const auto& before = members_of(*private_channels_, channel);
    const auto& after = members_of(*table, channel);
    for (const auto& user : after) {
      if (before.count(user) == 0) announce(channel, user, "added");
    }
    for (const auto& user : before) {
      if (after.count(user) == 0) announce(channel, user, "removed");
    }
  }
  private_channels_ = std::move(table);
  knows_private_channels_ = true;
  if (!changes.empty()) push_to_all_locked(changes);
}

bool Hub::knows_private_channels() {
  std::lock_guard lock(mutex_);
  return knows_private_channels_;
}

PrivateChannelsPtr Hub::private_channels() {
  std::lock_guard lock(mutex_);
  return private_channels_;
}

void Hub::shutdown() {
  std::vector<std::shared_ptr<Subscriber>> subscribers;
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    subscribers.swap(subscribers_);
    for (auto& subscriber : subscribers) subscriber->slot_ = Subscriber::kNoSlot;
  }
  for (auto& subscriber : subscribers) subscriber->close();
}

size_t Hub::subscriber_count() {
  std::lock_guard lock(mutex_);
  return subscribers_.size();
}

int64_t Hub::last_id() {
  std::lock_guard lock(mutex_);
  return last_id_;
}

}  // namespace relay
