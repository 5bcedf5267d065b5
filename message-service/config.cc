#include "message-service/config.h"

#include <system_error>

#include "shared/config_env.h"

namespace relay {

std::string default_www_dir(const std::filesystem::path& exe_path, std::string_view www_from_bin,
                            const std::string& source_www_dir) {
  if (!exe_path.empty()) {
    std::filesystem::path installed = (exe_path.parent_path() / www_from_bin).lexically_normal();
    std::error_code error;
    if (std::filesystem::is_directory(installed, error)) return installed.string();
  }
  return source_www_dir;
}

MessageServiceConfig load_message_service_config() {
  MessageServiceConfig config;
  EnvReader env;
  config.port = static_cast<int>(env.integer("PORT", config.port, 0, 65535));
  config.exposure = read_exposure(env);
  config.data_dir = env.text("DATA_DIR", config.data_dir);
  config.notification_service_url =
      env.service_url("NOTIFICATION_SERVICE_URL", config.notification_service_url);
  config.public_notify_url = env.service_url("PUBLIC_NOTIFY_URL", config.public_notify_url);
  config.max_message_bytes = static_cast<size_t>(env.integer(
      "MAX_MESSAGE_BYTES", static_cast<int64_t>(config.max_message_bytes), 1, 16 * 1024 * 1024));
  std::error_code exe_error;  // without /proc, only the source tree's www/ is a candidate
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", exe_error);
  config.www_dir =
      env.text("WWW_DIR", default_www_dir(exe_error ? std::filesystem::path() : exe,
                                          RELAY_WWW_DIR_FROM_BIN, RELAY_SOURCE_WWW_DIR));
  config.notify_token = env.text("NOTIFY_TOKEN", "");
  config.forward_batch_size =
      static_cast<int>(env.integer("FORWARD_BATCH_SIZE", config.forward_batch_size, 1, 10000));
  config.forward_retry_max_ms = static_cast<int>(
      env.integer("FORWARD_RETRY_MAX_MS", config.forward_retry_max_ms, 10, 600000));
  config.broker = read_broker_settings(env);
  config.postgres = env.choice("STORE", "sqlite", {"sqlite", "postgres"}) == "postgres";
  config.database_url = env.text("DATABASE_URL", "");
  if (config.postgres) {
    if (config.database_url.empty()) {
      env.refuse("STORE=postgres needs DATABASE_URL (postgresql://user:password@host:port/db)");
    } else if (!config.broker.redis) {
      env.refuse(
          "STORE=postgres needs BROKER=redis: the instances sharing the store forward through a "
          "Redis stream that every notify-service reads");
    }
  }
  config.http = read_http_settings(env);
  config.auth = read_auth_settings(env);
  if (config.postgres && config.exposure.accounts() && config.auth.secret.empty() &&
      config.auth.key_file.empty()) {
    env.refuse(
        "STORE=postgres with AUTH_MODE=accounts needs AUTH_SECRET or AUTH_KEY_FILE: every "
        "instance must sign and check tokens with the same key");
  }
  config.session_ttl_s = env.integer("SESSION_TTL", config.session_ttl_s, 300, 366LL * 24 * 3600);
  config.registration_open = env.choice("REGISTRATION", "open", {"open", "closed"}) == "open";
  config.rate_messages_burst =
      static_cast<int>(env.integer("RATE_MESSAGES_BURST", config.rate_messages_burst, 1, 1000000));
  config.rate_messages_per_sec = static_cast<int>(
      env.integer("RATE_MESSAGES_PER_SEC", config.rate_messages_per_sec, 1, 1000000));
  env.exit_if_invalid("message-service");
  return config;
}

}  // namespace relay
