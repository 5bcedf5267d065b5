#include "message-service/config.h"

#include "shared/config_env.h"

namespace relay {

MessageServiceConfig load_message_service_config() {
  MessageServiceConfig config;
  EnvReader env;
  config.port = static_cast<int>(env.integer("PORT", config.port, 0, 65535));
  config.bind_address = env.text("BIND_ADDRESS", config.bind_address);
  config.data_dir = env.text("DATA_DIR", config.data_dir);
  config.notification_service_url =
      env.service_url("NOTIFICATION_SERVICE_URL", config.notification_service_url);
  config.public_notify_url = env.service_url("PUBLIC_NOTIFY_URL", config.public_notify_url);
  config.max_message_bytes = static_cast<size_t>(env.integer(
      "MAX_MESSAGE_BYTES", static_cast<int64_t>(config.max_message_bytes), 1, 16 * 1024 * 1024));
  config.www_dir = env.text("WWW_DIR", RELAY_DEFAULT_WWW_DIR);
  config.notify_token = env.text("NOTIFY_TOKEN", "");
  config.forward_batch_size =
      static_cast<int>(env.integer("FORWARD_BATCH_SIZE", config.forward_batch_size, 1, 10000));
  config.forward_retry_max_ms = static_cast<int>(
      env.integer("FORWARD_RETRY_MAX_MS", config.forward_retry_max_ms, 10, 600000));
  config.http = read_http_settings(env);
  env.exit_if_invalid("message-service");
  return config;
}

}  // namespace relay
