#include "shared/redis/broker_settings.h"

namespace relay {

BrokerSettings read_broker_settings(EnvReader& env) {
  BrokerSettings settings;
  settings.redis = env.choice("BROKER", "direct", {"direct", "redis"}) == "redis";
  std::string url = env.text("REDIS_URL", "redis://127.0.0.1:6379");
  std::string error;
  if (auto parsed = parse_redis_url(url, &error)) {
    settings.redis_url = *parsed;
  } else {
    env.refuse("REDIS_URL " + error);
  }
  settings.stream_max_len = static_cast<size_t>(env.integer(
      "REDIS_STREAM_MAXLEN", static_cast<int64_t>(settings.stream_max_len), 1000, 100000000));
  return settings;
}

const char* broker_name(const BrokerSettings& settings) {
  return settings.redis ? "redis" : "direct";
}

}  // namespace relay
