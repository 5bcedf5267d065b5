#pragma once

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "shared/message.h"

namespace relay {

/// A presence event (EventKind::kPresence): `user` `state` ("join" / "leave") in `channel` (""
/// = every channel), stamped now.
Message presence_event(const std::string& user, const std::string& channel, const char* state);

/// The users among `by_key`'s keys ((user, channel) pairs) present in `channel`: following it by
/// name or following every channel; with no channel, all of them. Sorted, each once.
template <class Map>
std::vector<std::string> users_in(const Map& by_key, const std::optional<std::string>& channel) {
  std::vector<std::string> out;
  for (const auto& [key, value] : by_key) {
    if (!channel || key.second.empty() || key.second == *channel) out.push_back(key.first);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

/// Who is online where: counts the open streams of each named user per channel they follow (the
/// empty channel standing for "every channel", a stream that listed none). Announces `join` when
/// a user's first stream for a channel opens, and `leave` only when their last one closed and none
/// reopened within the grace period, so a reconnect is neither a leave nor a join. Announcements
/// are presence events (EventKind::kPresence) handed to `announce`, which is called with this
/// tracker's lock held (so announcements keep their order) and must not call back into it.
/// Knows nothing of HTTP. Thread-safe; owns one timer thread for the grace periods.
class PresenceTracker {
 public:
  using Announce = std::function<void(const Message& presence)>;

  PresenceTracker(std::chrono::milliseconds grace, Announce announce);
  ~PresenceTracker();
  PresenceTracker(const PresenceTracker&) = delete;
  PresenceTracker& operator=(const PresenceTracker&) = delete;

  /// A stream of `user` following `channels` (empty = every channel) opened / closed. Streams
  /// without a user are not tracked: call these only for named users.
  void stream_opened(const std::string& user, const std::vector<std::string>& channels);
  void stream_closed(const std::string& user, const std::vector<std::string>& channels);

  /// The users present in `channel` (following it by name or following every channel), or with
  /// no channel every user with a stream open; sorted, each once. Users within their grace period
  /// still count.
  std::vector<std::string> users(const std::optional<std::string>& channel);

  /// Ends the timer thread; pending leaves are dropped (the service is stopping).
  void stop();

 private:
  struct Presence {
    int streams = 0;
    /// Set while no stream is open: when the leave is announced unless one reopens first.
    std::optional<std::chrono::steady_clock::time_point> leave_at;
  };
  using Key = std::pair<std::string, std::string>;  // user, channel ("" = every channel)

  void run_timer();
  void announce_locked(const Key& key, const char* state);

  const std::chrono::milliseconds grace_;
  const Announce announce_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::map<Key, Presence> presence_;  // guarded by mutex_
  bool stopping_ = false;             // guarded by mutex_
  std::thread timer_;
};

}  // namespace relay
