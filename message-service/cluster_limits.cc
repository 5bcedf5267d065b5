#include "message-service/cluster_limits.h"

#include <charconv>
#include <chrono>
#include <cstdlib>

namespace relay {
namespace {

// KEYS[1]: the bucket; ARGV: burst, tokens back per second. Returns 1 when a token was spent.
constexpr const char* kBucketScript = R"lua(
local burst = tonumber(ARGV[1])
local per_ms = tonumber(ARGV[2]) / 1000
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local held = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(held[1]) or burst
local at = tonumber(held[2]) or now
if now > at then tokens = math.min(burst, tokens + (now - at) * per_ms) end
local spent = 0
if tokens >= 1 then
  tokens = tokens - 1
  spent = 1
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / per_ms) + 1)
return spent
)lua";

// KEYS[1]: a key's failures; ARGV[1]: the window in ms, started by the first failure.
constexpr const char* kFailureScript = R"lua(
local count = redis.call('INCR', KEYS[1])
if count == 1 or redis.call('PTTL', KEYS[1]) < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return count
)lua";

int64_t steady_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The shortest text that reads back as `value` (std::to_string would keep 6 decimals).
std::string number_text(double value) {
  char buffer[32];
  auto [end, ec] = std::to_chars(buffer, buffer + sizeof buffer, value);
  return ec == std::errc() ? std::string(buffer, end) : "0";
}

std::string failures_key(const std::string& key) {
  return "relay:login:" + key;
}

}  // namespace

ClusterLimits::ClusterLimits(const RedisUrl& url, const Logger& logger, MetricsRegistry& metrics)
    : logger_(logger),
      fallbacks_(metrics.counter(
          "relay_rate_limit_fallbacks_total",
          "Rate-limit and sign-in throttle calls Redis did not answer (STORE=postgres); this "
          "instance's own count decided.")),
      connection_(url, kTimeoutMs),
      bucket_{kBucketScript, {}},
      failure_{kFailureScript, {}} {}

void ClusterLimits::note(const std::string& error) {
  if (error.empty()) {
    if (out_) {
      logger_.info(
          "Redis answers again: rate limits and the sign-in throttle hold across instances");
    }
    out_ = false;
    return;
  }
  paused_until_ms_ = steady_ms() + kPauseMs;
  if (!out_) {
    logger_.warn(
        "Redis does not answer: rate limits and the sign-in throttle count per instance until it "
        "does",
        {{"error", error}});
  }
  out_ = true;
}

template <typename Call>
std::optional<RedisReply> ClusterLimits::guarded(Call call) {
  std::optional<RedisReply> reply;
  if (steady_ms() >= paused_until_ms_.load()) {
    std::lock_guard lock(mutex_);
    // Another call may have found Redis out while this one waited.
    if (steady_ms() >= paused_until_ms_.load()) {
      std::string error;
      reply = call(&error);
      if (reply && reply->is_error()) {
        error = "Redis refused a rate-limit command: " + reply->text;
        reply.reset();
      }
      note(reply ? std::string() : error);
    }
  }
  if (!reply) fallbacks_.add();
  return reply;
}

std::optional<RedisReply> ClusterLimits::eval(Script& script, const std::vector<std::string>& keys,
                                              const std::vector<std::string>& args,
                                              std::string* error) {
  if (script.sha.empty()) {
    auto loaded = connection_.command({"SCRIPT", "LOAD", script.text}, error);
    if (!loaded) return std::nullopt;
    if (loaded->is_error()) return loaded;
    script.sha = loaded->text;
  }
  std::vector<std::string> command = {"EVALSHA", script.sha, std::to_string(keys.size())};
  command.insert(command.end(), keys.begin(), keys.end());
  command.insert(command.end(), args.begin(), args.end());
  auto reply = connection_.command(command, error);
  if (reply && reply->is_error() && reply->text.starts_with("NOSCRIPT")) {
    // Redis restarted or was flushed: EVAL runs it and caches it again under the same sha.
    command[0] = "EVAL";
    command[1] = script.text;
    reply = connection_.command(command, error);
  }
  return reply;
}

std::optional<bool> ClusterLimits::take(const std::string& limit, const std::string& key,
                                        double burst, double per_second) {
  auto reply = guarded([&](std::string* error) {
    return eval(bucket_, {"relay:rate:" + limit + ":" + key},
                {number_text(burst), number_text(per_second)}, error);
  });
  if (!reply) return std::nullopt;
  return reply->type == RedisReply::Type::kInteger && reply->integer == 1;
}

std::optional<ClusterLimits::Failures> ClusterLimits::failures(const std::string& key) {
  std::optional<RedisReply> count;
  // The answer is PTTL's, after GET's (an error reply of either is one of guarded()'s failures).
  auto ms_left = guarded([&](std::string* error) -> std::optional<RedisReply> {
    auto replies =
        connection_.pipeline({{"GET", failures_key(key)}, {"PTTL", failures_key(key)}}, error);
    if (!replies) return std::nullopt;
    count = (*replies)[0];
    return count->is_error() ? *count : (*replies)[1];
  });
  if (!ms_left) return std::nullopt;
  Failures failures;
  if (count->type == RedisReply::Type::kString && ms_left->integer > 0) {
    failures.count = std::atoll(count->text.c_str());
    failures.ms_left = ms_left->integer;
  }
  return failures;
}

bool ClusterLimits::add_failure(const std::string& key, int64_t window_ms) {
  return guarded([&](std::string* error) {
           return eval(failure_, {failures_key(key)}, {std::to_string(window_ms)}, error);
         })
      .has_value();
}

bool ClusterLimits::clear_failures(const std::string& key) {
  return guarded([&](std::string* error) {
           return connection_.command({"DEL", failures_key(key)}, error);
         })
      .has_value();
}

}  // namespace relay
