#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "shared/logfmt.h"
#include "shared/message.h"
#include "shared/redis/broker_settings.h"
#include "shared/redis/redis_connection.h"

namespace relay {

/// BROKER=redis: presence across notify-service instances. This instance's PresenceTracker says
/// when a user joins or leaves here (a leave after its grace period); ClusterPresence shares that
/// through Redis and holds the view of every instance, so that GET /presence on any instance lists
/// the users streaming on any, and streams hear `join` when a user is first present anywhere and
/// `leave` only when they left the last instance.
///
/// In Redis: the set kPresenceKeyPrefix + instance id of "<user>\n<channel>" members, kept alive
/// by this instance's heartbeat (it expires kInstanceTtl after the last one, so the users of an
/// instance that died leave then), and `presence` entries on kTransientStream that other
/// instances' feeds pass to remote_entry() at once. Every kHeartbeat the view is reconciled with
/// the sets (a difference seen at two beats in a row is applied), which heals anything missed
/// while Redis was away and removes the users of an instance whose set expired. Thread-safe; owns
/// one thread.
class ClusterPresence {
 public:
  using Announce = std::function<void(const Message& presence)>;
  static constexpr const char* kPresenceKeyPrefix = "relay:presence:";
  static constexpr std::chrono::milliseconds kHeartbeat{1000};
  static constexpr std::chrono::seconds kInstanceTtl{5};

  /// `announce` gets the cluster's join and leave events (called with this object's lock held, so
  /// they keep their order; it must not call back into it).
  ClusterPresence(const BrokerSettings& settings, Announce announce, const Logger& logger);
  ~ClusterPresence();
  ClusterPresence(const ClusterPresence&) = delete;
  ClusterPresence& operator=(const ClusterPresence&) = delete;

  void start();
  void stop();

  /// This instance's PresenceTracker announced `presence` (join or leave). Only queues the write
  /// to Redis: safe under the tracker's lock.
  void local_changed(const Message& presence);
  /// A `presence` entry of the bus (its JSON), read by the feed; this instance's own are ignored.
  void remote_entry(const std::string& json);
  /// As PresenceTracker::users, over every instance.
  std::vector<std::string> users(const std::optional<std::string>& channel);
  const std::string& instance_id() const { return instance_; }

 private:
  using Key = std::pair<std::string, std::string>;  // user, channel ("" = every channel)
  using Placement = std::pair<Key, std::string>;    // a key and an instance present there

  void run();
  /// Writes the queued local changes; false on a Redis failure (they stay queued).
  bool flush(std::string* error);
  /// Renews this instance's set (rewrites it when Redis lost it) and reconciles the view with
  /// every instance's set.
  bool heartbeat(std::string* error);
  void add_locked(const Key& key, const std::string& instance);
  void remove_locked(const Key& key, const std::string& instance);
  void announce_locked(const Key& key, const char* state);

  const std::string instance_;
  const Announce announce_;
  const Logger& logger_;
  RedisConnection connection_;  // the thread only
  std::mutex mutex_;
  std::condition_variable wake_;
  std::map<Key, std::set<std::string>> where_;  // guarded by mutex_: key -> instances present
  std::deque<std::pair<Key, bool>> outbox_;     // guarded by mutex_: local joins (true), leaves
  // Differences between the view and Redis's sets seen at the last beat (guarded by mutex_).
  std::set<Placement> suspect_missing_;
  std::set<Placement> suspect_extra_;
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace relay
