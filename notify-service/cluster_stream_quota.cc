#include "notify-service/cluster_stream_quota.h"

#include <vector>

namespace relay {
namespace {

// What the acquire script's answers 0, 1 and 2 mean.
constexpr StreamQuota::Verdict kVerdicts[] = {StreamQuota::Verdict::kGranted,
                                              StreamQuota::Verdict::kUserFull,
                                              StreamQuota::Verdict::kAddressFull};

// KEYS: the registry, this instance's hash. ARGV: user field, address field, user limit, address
// limit, ttl (ms), this instance's id, the hash key prefix. Returns an index into kVerdicts.
constexpr const char* kAcquireScript = R"lua(
local registry, own = KEYS[1], KEYS[2]
local user, address, me, prefix = ARGV[1], ARGV[2], ARGV[6], ARGV[7]
local users, addresses = 0, 0
local function add(hash)
  local counts = redis.call('HMGET', hash, user, address)
  users = users + tonumber(counts[1] or 0)
  addresses = addresses + tonumber(counts[2] or 0)
end
add(own)
for _, instance in ipairs(redis.call('SMEMBERS', registry)) do
  if instance ~= me then
    local hash = prefix .. instance
    if redis.call('EXISTS', hash) == 1 then
      add(hash)
    else
      redis.call('SREM', registry, instance)
    end
  end
end
if users >= tonumber(ARGV[3]) then return 1 end
if addresses >= tonumber(ARGV[4]) then return 2 end
redis.call('HINCRBY', own, user, 1)
redis.call('HINCRBY', own, address, 1)
redis.call('PEXPIRE', own, ARGV[5])
redis.call('SADD', registry, me)
return 0
)lua";

// KEYS: this instance's hash. ARGV: field, how many to give back. A field at zero is deleted.
constexpr const char* kReleaseScript = R"lua(
local left = redis.call('HINCRBY', KEYS[1], ARGV[1], -tonumber(ARGV[2]))
if left <= 0 then redis.call('HDEL', KEYS[1], ARGV[1]) end
return left
)lua";

std::string user_field(const std::string& user) {
  return "user:" + user;
}

std::string address_field(const std::string& address) {
  return "address:" + address;
}

size_t count_of(const std::map<std::string, size_t>& counts, const std::string& field) {
  auto found = counts.find(field);
  return found == counts.end() ? 0 : found->second;
}

}  // namespace

ClusterStreamQuota::ClusterStreamQuota(const RedisUrl& url, std::string instance, size_t per_user,
                                       size_t per_address, const Logger& logger, Timing timing)
    : instance_(std::move(instance)),
      own_key_(kKeyPrefix + instance_),
      per_user_(per_user),
      per_address_(per_address),
      logger_(logger),
      timing_(timing),
      connection_(url, static_cast<int>(timing.timeout.count())) {}

ClusterStreamQuota::~ClusterStreamQuota() {
  stop();
}

void ClusterStreamQuota::start() {
  thread_ = std::thread([this] { run(); });
}

void ClusterStreamQuota::stop() {
  {
    std::lock_guard lock(counts_mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard connection(connection_mutex_);
  std::string error;
  connection_.pipeline({{"DEL", own_key_}, {"SREM", kRegistryKey, instance_}}, &error);
}

void ClusterStreamQuota::set_reachable(bool reachable, const std::string& error) {
  if (reachable_.exchange(reachable) == reachable) return;
  if (reachable) {
    logger_.info("stream limits shared through Redis again");
  } else {
    logger_.warn("cannot share stream limits through Redis; counting this instance's streams only",
                 {{"error", error}});
  }
}

StreamQuota::Verdict ClusterStreamQuota::acquire(const std::string& user,
                                                 const std::string& address) {
  std::string user_key = user_field(user);
  std::string address_key = address_field(address);
  std::unique_lock connection(connection_mutex_, std::defer_lock);
  if (reachable_) connection.lock();
  // Asked again under the lock: the heartbeat may just have found Redis gone, after its timeout.
  if (connection.owns_lock() && reachable_) {
    std::string error;
    auto reply =
        connection_.command({"EVAL", kAcquireScript, "2", kRegistryKey, own_key_, user_key,
                             address_key, std::to_string(per_user_), std::to_string(per_address_),
                             std::to_string(timing_.ttl.count()), instance_, kKeyPrefix},
                            &error);
    if (reply && reply->type == RedisReply::Type::kInteger && reply->integer >= 0 &&
        reply->integer <= 2) {
      StreamQuota::Verdict verdict = kVerdicts[reply->integer];
      if (verdict == StreamQuota::Verdict::kGranted) {
        std::lock_guard lock(counts_mutex_);
        ++counts_[user_key];
        ++counts_[address_key];
      }
      return verdict;
    }
    set_reachable(false, reply ? "unexpected reply to the quota script: " + reply->text : error);
  }
  return acquire_locally(user_key, address_key);
}

StreamQuota::Verdict ClusterStreamQuota::acquire_locally(const std::string& user_key,
                                                         const std::string& address_key) {
  std::lock_guard lock(counts_mutex_);
  if (count_of(counts_, user_key) >= per_user_) return StreamQuota::Verdict::kUserFull;
  if (count_of(counts_, address_key) >= per_address_) return StreamQuota::Verdict::kAddressFull;
  ++counts_[user_key];
  ++counts_[address_key];
  return StreamQuota::Verdict::kGranted;
}

void ClusterStreamQuota::release(const std::string& user, const std::string& address) {
  {
    std::lock_guard lock(counts_mutex_);
    for (const std::string& field : {user_field(user), address_field(address)}) {
      auto found = counts_.find(field);
      if (found == counts_.end()) continue;
      if (--found->second == 0) counts_.erase(found);
      ++pending_[field];
    }
  }
  wake_.notify_all();
}

void ClusterStreamQuota::flush_releases() {
  std::lock_guard connection(connection_mutex_);
  std::map<std::string, size_t> releases;
  {
    std::lock_guard lock(counts_mutex_);
    releases.swap(pending_);
  }
  if (releases.empty() || !reachable_) return;  // unreachable: the next beat rewrites the hash
  std::vector<std::vector<std::string>> commands;
  for (const auto& [field, count] : releases) {
    commands.push_back({"EVAL", kReleaseScript, "1", own_key_, field, std::to_string(count)});
  }
  std::string error;
  auto replies = connection_.pipeline(commands, &error);
  if (!replies) set_reachable(false, error);
}

void ClusterStreamQuota::heartbeat() {
  std::lock_guard connection(connection_mutex_);
  std::vector<std::vector<std::string>> commands = {{"MULTI"}, {"DEL", own_key_}};
  {
    std::lock_guard lock(counts_mutex_);
    pending_.clear();  // the rewrite holds every release made so far
    if (!counts_.empty()) {
      std::vector<std::string> fill = {"HSET", own_key_};
      for (const auto& [field, count] : counts_) {
        fill.push_back(field);
        fill.push_back(std::to_string(count));
      }
      commands.push_back(std::move(fill));
    }
  }
  if (commands.size() > 2) {
    commands.push_back({"PEXPIRE", own_key_, std::to_string(timing_.ttl.count())});
    commands.push_back({"SADD", kRegistryKey, instance_});
  } else {
    commands.push_back({"SREM", kRegistryKey, instance_});
  }
  commands.push_back({"EXEC"});
  std::string error;
  auto replies = connection_.pipeline(commands, &error);
  if (replies && replies->back().is_error()) {
    error = "EXEC failed: " + replies->back().text;
    replies.reset();
  }
  set_reachable(replies.has_value(), error);
}

void ClusterStreamQuota::run() {
  auto next_beat = std::chrono::steady_clock::now();
  while (true) {
    {
      std::unique_lock lock(counts_mutex_);
      wake_.wait_until(lock, next_beat, [this] { return stopping_ || !pending_.empty(); });
      if (stopping_) return;
    }
    if (std::chrono::steady_clock::now() >= next_beat) {
      heartbeat();
      next_beat = std::chrono::steady_clock::now() + timing_.heartbeat;
    } else {
      flush_releases();
    }
  }
}

}  // namespace relay
