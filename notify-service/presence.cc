#include "notify-service/presence.h"

#include <algorithm>

#include "shared/time_format.h"

namespace relay {

namespace {

// The keys one stream occupies: each channel it follows once, or "" for every channel.
std::vector<std::string> presence_channels(const std::vector<std::string>& channels) {
  if (channels.empty()) return {std::string()};
  std::vector<std::string> unique = channels;
  std::sort(unique.begin(), unique.end());
  unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
  return unique;
}

}  // namespace

PresenceTracker::PresenceTracker(std::chrono::milliseconds grace, Announce announce)
    : grace_(grace), announce_(std::move(announce)), timer_([this] { run_timer(); }) {}

PresenceTracker::~PresenceTracker() {
  stop();
}

void PresenceTracker::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (timer_.joinable()) timer_.join();
}

Message presence_event(const std::string& user, const std::string& channel, const char* state) {
  Message event;
  event.kind = EventKind::kPresence;
  event.user = user;
  event.channel = channel;
  event.status = state;
  event.timestamp_ms = now_unix_ms();
  return event;
}

void PresenceTracker::announce_locked(const Key& key, const char* state) {
  announce_(presence_event(key.first, key.second, state));
}

void PresenceTracker::stream_opened(const std::string& user,
                                    const std::vector<std::string>& channels) {
  std::lock_guard lock(mutex_);
  for (auto& channel : presence_channels(channels)) {
    Key key{user, channel};
    auto& presence = presence_[key];
    bool was_absent = presence.streams == 0 && !presence.leave_at;
    ++presence.streams;
    presence.leave_at.reset();  // a reconnect within the grace period: nothing to announce
    if (was_absent) announce_locked(key, "join");
  }
}

void PresenceTracker::stream_closed(const std::string& user,
                                    const std::vector<std::string>& channels) {
  bool schedule = false;
  {
    std::lock_guard lock(mutex_);
    for (auto& channel : presence_channels(channels)) {
      auto it = presence_.find(Key{user, channel});
      if (it == presence_.end() || it->second.streams == 0) continue;
      if (--it->second.streams == 0) {
        it->second.leave_at = std::chrono::steady_clock::now() + grace_;
        schedule = true;
      }
    }
  }
  if (schedule) changed_.notify_all();
}

void PresenceTracker::run_timer() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> next;
    for (auto it = presence_.begin(); it != presence_.end();) {
      const auto& leave_at = it->second.leave_at;
      if (leave_at && *leave_at <= now) {
        announce_locked(it->first, "leave");
        it = presence_.erase(it);
        continue;
      }
      if (leave_at && (!next || *leave_at < *next)) next = *leave_at;
      ++it;
    }
    if (next) {
      changed_.wait_until(lock, *next);
    } else {
      changed_.wait(lock);
    }
  }
}

std::vector<std::string> PresenceTracker::users(const std::optional<std::string>& channel) {
  std::lock_guard lock(mutex_);
  return users_in(presence_, channel);
}

}  // namespace relay
