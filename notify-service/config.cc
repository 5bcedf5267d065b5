#include "notify-service/config.h"

#include "shared/config_env.h"

namespace relay {

NotifyServiceConfig load_notify_service_config() {
  NotifyServiceConfig config;
  EnvReader env;
  config.port = static_cast<int>(env.integer("PORT", config.port, 0, 65535));
  config.exposure = read_exposure(env);
  config.message_service_url = env.service_url("MESSAGE_SERVICE_URL", config.message_service_url);
  config.heartbeat_seconds =
      static_cast<int>(env.integer("HEARTBEAT_SECONDS", config.heartbeat_seconds, 1, 3600));
  config.max_subscribers = static_cast<size_t>(
      env.integer("MAX_SUBSCRIBERS", static_cast<int64_t>(config.max_subscribers), 1, 1000000));
  config.max_backlog_bytes = static_cast<size_t>(env.integer(
      "MAX_BACKLOG_BYTES", static_cast<int64_t>(config.max_backlog_bytes), 1024, 1LL << 32));
  config.ring_size = static_cast<size_t>(
      env.integer("RING_SIZE", static_cast<int64_t>(config.ring_size), 1, 10000000));
  config.notify_token = env.text("NOTIFY_TOKEN", "");
  config.broker = read_broker_settings(env);
  // BROKER=redis: events come from Redis and POST /notify is not served, so it needs no token.
  if (!config.broker.redis && config.notify_token.empty() &&
      !is_loopback_bind_address(config.exposure.bind_address)) {
    // Without a token, POST /notify trusts loopback peers only; off loopback it must be asked for.
    env.refuse("BIND_ADDRESS=" + config.exposure.bind_address +
               " is reachable from other hosts: set NOTIFY_TOKEN (and give message-service the "
               "same) so that only message-service can publish");
  }
  config.retry_ms = static_cast<int>(env.integer("RETRY_MS", config.retry_ms, 100, 600000));
  config.max_notify_body_bytes = static_cast<size_t>(
      env.integer("MAX_NOTIFY_BODY_BYTES", static_cast<int64_t>(config.max_notify_body_bytes), 1024,
                  1LL << 31));
  config.presence_grace_ms =
      static_cast<int>(env.integer("PRESENCE_GRACE_MS", config.presence_grace_ms, 0, 600000));
  config.http = read_http_settings(env);
  config.auth = read_auth_settings(env);
  config.max_streams_per_user = static_cast<size_t>(env.integer(
      "MAX_STREAMS_PER_USER", static_cast<int64_t>(config.max_streams_per_user), 1, 1000000));
  config.max_streams_per_address = static_cast<size_t>(env.integer(
      "MAX_STREAMS_PER_ADDRESS", static_cast<int64_t>(config.max_streams_per_address), 1, 1000000));
  if (config.exposure.accounts() && config.auth.secret.empty() && config.auth.key_file.empty()) {
    env.refuse(
        "AUTH_MODE=accounts needs the key message-service signs tokens with: AUTH_SECRET, or "
        "AUTH_KEY_FILE naming message-service's DATA_DIR/auth.key");
  }
  env.exit_if_invalid("notify-service");
  return config;
}

}  // namespace relay
