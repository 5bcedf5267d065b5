#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

#include "shared/auth/auth_settings.h"
#include "shared/exposure.h"
#include "shared/http/http_settings.h"
#include "shared/redis/broker_settings.h"

namespace relay {

/// message-service's settings, read once from the environment at startup (see README's table).
struct MessageServiceConfig {
  int port = 8080;
  /// AUTH_MODE, BIND_ADDRESS (loopback unless set), ALLOW_OPEN_NETWORK.
  Exposure exposure;
  std::string data_dir = "./data";
  /// STORE: false = SQLite in DATA_DIR (the default), true = PostgreSQL at DATABASE_URL, shared
  /// by several instances (needs BROKER=redis).
  bool postgres = false;
  std::string database_url;
  std::string notification_service_url = "http://127.0.0.1:8081";
  /// The notify-service URL a browser should use; empty = same host as the page, notify's port.
  std::string public_notify_url;
  size_t max_message_bytes = 16384;
  std::string www_dir;
  std::string notify_token;
  int forward_batch_size = 256;
  int forward_retry_max_ms = 5000;
  /// BROKER (direct: POST /notify at NOTIFICATION_SERVICE_URL; redis: a Redis stream at REDIS_URL).
  BrokerSettings broker;
  HttpSettings http;
  /// AUTH_MODE=accounts: the token settings, how long a session lasts (SESSION_TTL, seconds) and
  /// whether anyone may create an account (REGISTRATION=open) or only the operator (closed).
  AuthSettings auth;
  int64_t session_ttl_s = 30 * 24 * 3600;
  bool registration_open = true;
  /// AUTH_MODE=accounts: POST /messages per user, a token bucket (RATE_MESSAGES_BURST at once,
  /// then RATE_MESSAGES_PER_SEC).
  int rate_messages_burst = 30;
  int rate_messages_per_sec = 10;

  /// The largest request body read at all: content may be JSON-escaped up to 6 bytes per byte.
  size_t max_body_bytes() const { return max_message_bytes * 6 + 4096; }
};

/// The chat page's directory when WWW_DIR is unset: `<directory of exe_path>/<www_from_bin>` (for
/// an installed binary, bin/../share/relay/www) when that is a directory, else `source_www_dir`
/// (a binary run from its build tree). Reads the file system, nothing else.
std::string default_www_dir(const std::filesystem::path& exe_path, std::string_view www_from_bin,
                            const std::string& source_www_dir);

/// Reads MessageServiceConfig from the environment; on an invalid value prints one line to stderr
/// and exits with code 2.
MessageServiceConfig load_message_service_config();

}  // namespace relay
