#include "notify-service/cluster_presence.h"

#include <algorithm>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "notify-service/presence.h"
#include "shared/validation.h"

namespace relay {
namespace {

constexpr int kTimeoutMs = 2000;

std::string new_instance_id() {
  std::random_device random;
  return fmt::format("{:08x}{:08x}", random(), random());
}

std::string member_of(const std::pair<std::string, std::string>& key) {
  return key.first + "\n" + key.second;
}

std::optional<std::pair<std::string, std::string>> key_of(const std::string& member) {
  auto newline = member.find('\n');
  if (newline == std::string::npos) return std::nullopt;
  std::string user = member.substr(0, newline);
  std::string channel = member.substr(newline + 1);
  if (!is_valid_user_name(user) || (!channel.empty() && !is_valid_channel(channel)))
    return std::nullopt;
  return std::make_pair(user, channel);
}

}  // namespace

ClusterPresence::ClusterPresence(const BrokerSettings& settings, Announce announce,
                                 const Logger& logger)
    : instance_(new_instance_id()),
      announce_(std::move(announce)),
      logger_(logger),
      connection_(settings.redis_url, kTimeoutMs) {}

ClusterPresence::~ClusterPresence() {
  stop();
}

void ClusterPresence::start() {
  thread_ = std::thread([this] { run(); });
}

void ClusterPresence::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (!thread_.joinable()) return;
  thread_.join();
  // A clean stop: this instance's users leave the others' views now, not when the set expires.
  std::string error;
  connection_.command({"DEL", kPresenceKeyPrefix + instance_}, &error);
}

void ClusterPresence::announce_locked(const Key& key, const char* state) {
  announce_(presence_event(key.first, key.second, state));
}

void ClusterPresence::add_locked(const Key& key, const std::string& instance) {
  auto& instances = where_[key];
  bool was_absent = instances.empty();
  instances.insert(instance);
  if (was_absent) announce_locked(key, "join");
}

void ClusterPresence::remove_locked(const Key& key, const std::string& instance) {
  auto it = where_.find(key);
  if (it == where_.end() || it->second.erase(instance) == 0) return;
  if (it->second.empty()) {
    where_.erase(it);
    announce_locked(key, "leave");
  }
}

void ClusterPresence::local_changed(const Message& presence) {
  Key key{presence.user, presence.channel};
  bool join = presence.status == "join";
  {
    std::lock_guard lock(mutex_);
    if (join) {
      add_locked(key, instance_);
    } else {
      remove_locked(key, instance_);
    }
    outbox_.emplace_back(key, join);
  }
  wake_.notify_all();
}

void ClusterPresence::remote_entry(const std::string& json) {
  auto entry = nlohmann::json::parse(json, nullptr, false);
  if (!entry.is_object() || !entry["instance"].is_string() || !entry["member"].is_string() ||
      !entry["join"].is_boolean()) {
    return;
  }
  std::string instance = entry["instance"];
  auto key = key_of(entry["member"]);
  if (instance == instance_ || !key) return;
  std::lock_guard lock(mutex_);
  if (entry["join"].get<bool>()) {
    add_locked(*key, instance);
  } else {
    remove_locked(*key, instance);
  }
}

std::vector<std::string> ClusterPresence::users(const std::optional<std::string>& channel) {
  std::lock_guard lock(mutex_);
  return users_in(where_, channel);
}

bool ClusterPresence::flush(std::string* error) {
  std::deque<std::pair<Key, bool>> pending;
  {
    std::lock_guard lock(mutex_);
    pending.swap(outbox_);
  }
  if (pending.empty()) return true;
  std::string set = kPresenceKeyPrefix + instance_;
  std::vector<std::vector<std::string>> commands;
  for (const auto& [key, join] : pending) {
    std::string member = member_of(key);
    commands.push_back({join ? "SADD" : "SREM", set, member});
    nlohmann::json entry = {{"instance", instance_}, {"member", member}, {"join", join}};
    commands.push_back({"XADD", kTransientStream, "MAXLEN", "~",
                        std::to_string(kTransientStreamMaxLen), "*", "presence", entry.dump()});
  }
  commands.push_back({"EXPIRE", set, std::to_string(kInstanceTtl.count())});
  if (connection_.pipeline(commands, error)) return true;
  std::lock_guard lock(mutex_);  // not written: keep them, in order, before anything newer
  outbox_.insert(outbox_.begin(), pending.begin(), pending.end());
  return false;
}

bool ClusterPresence::heartbeat(std::string* error) {
  std::string own = kPresenceKeyPrefix + instance_;
  std::vector<std::string> mine;
  {
    std::lock_guard lock(mutex_);
    for (const auto& [key, instances] : where_) {
      if (instances.count(instance_) != 0) mine.push_back(member_of(key));
    }
  }
  // Rewritten whole each beat (it is small): after a Redis restart it is back within one beat.
  std::vector<std::vector<std::string>> renew = {{"DEL", own}};
  if (!mine.empty()) {
    std::vector<std::string> add = {"SADD", own};
    add.insert(add.end(), mine.begin(), mine.end());
    renew.push_back(std::move(add));
    renew.push_back({"EXPIRE", own, std::to_string(kInstanceTtl.count())});
  }
  renew.insert(renew.begin(), {"MULTI"});
  renew.push_back({"EXEC"});
  if (!connection_.pipeline(renew, error)) return false;

  // Every other instance's set, as Redis holds it now.
  std::map<std::string, std::set<Key>> remote;
  std::string cursor = "0";
  do {
    auto page = connection_.command(
        {"SCAN", cursor, "MATCH", std::string(kPresenceKeyPrefix) + "*", "COUNT", "1000"}, error);
    if (!page) return false;
    if (page->type != RedisReply::Type::kArray || page->elements.size() != 2) {
      *error = "unexpected SCAN reply";
      return false;
    }
    cursor = page->elements[0].text;
    for (const auto& name : page->elements[1].elements) {
      std::string instance = name.text.substr(std::string(kPresenceKeyPrefix).size());
      if (instance == instance_) continue;
      auto members = connection_.command({"SMEMBERS", name.text}, error);
      if (!members) return false;
      auto& keys = remote[instance];
      for (const auto& member : members->elements) {
        if (auto key = key_of(member.text)) keys.insert(*key);
      }
    }
  } while (cursor != "0");

  // A difference is acted on only when two beats in a row saw it: an entry on its way (read by
  // the feed between this snapshot and now) is not undone by a snapshot taken just before it.
  std::lock_guard lock(mutex_);
  std::set<Placement> missing;
  std::set<Placement> extra;
  for (const auto& [key, instances] : where_) {
    for (const auto& instance : instances) {
      if (instance == instance_) continue;
      auto it = remote.find(instance);
      if (it == remote.end() || it->second.count(key) == 0) missing.emplace(key, instance);
    }
  }
  for (const auto& [instance, keys] : remote) {
    for (const auto& key : keys) {
      auto it = where_.find(key);
      if (it == where_.end() || it->second.count(instance) == 0) extra.emplace(key, instance);
    }
  }
  for (const auto& placement : missing) {
    if (suspect_missing_.count(placement) != 0) remove_locked(placement.first, placement.second);
  }
  for (const auto& placement : extra) {
    if (suspect_extra_.count(placement) != 0) add_locked(placement.first, placement.second);
  }
  suspect_missing_ = std::move(missing);
  suspect_extra_ = std::move(extra);
  return true;
}

void ClusterPresence::run() {
  bool failing = false;
  auto next_beat = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_beat, [this] { return stopping_ || !outbox_.empty(); });
      if (stopping_) return;
    }
    std::string error;
    bool ok = flush(&error);
    if (ok && std::chrono::steady_clock::now() >= next_beat) {
      ok = heartbeat(&error);
      next_beat = std::chrono::steady_clock::now() + kHeartbeat;
    }
    if (!ok) {
      if (!failing)
        logger_.warn("cannot share presence through Redis; retrying", {{"error", error}});
      failing = true;
      next_beat = std::chrono::steady_clock::now() + kHeartbeat;
      std::unique_lock lock(mutex_);
      wake_.wait_until(lock, next_beat, [this] { return stopping_; });
      continue;
    }
    if (failing) logger_.info("presence shared through Redis again");
    failing = false;
  }
}

}  // namespace relay
