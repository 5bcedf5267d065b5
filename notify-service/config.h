#pragma once

#include <cstddef>
#include <string>

#include "shared/auth/auth_settings.h"
#include "shared/exposure.h"
#include "shared/http/http_settings.h"
#include "shared/redis/broker_settings.h"

namespace relay {

/// notify-service's settings, read once from the environment at startup (see README's table).
struct NotifyServiceConfig {
  int port = 8081;
  /// AUTH_MODE, BIND_ADDRESS (loopback unless set), ALLOW_OPEN_NETWORK.
  Exposure exposure;
  std::string message_service_url = "http://127.0.0.1:8080";
  int heartbeat_seconds = 15;
  size_t max_subscribers = 10000;
  size_t max_backlog_bytes = 1 << 20;
  size_t ring_size = 10000;
  std::string notify_token;
  /// BROKER=direct: events arrive on POST /notify; BROKER=redis: from the Redis bus at REDIS_URL
  /// (then POST /notify and PUT /notify/memberships are not served).
  BrokerSettings broker;
  int retry_ms = 2000;
  size_t max_notify_body_bytes = 64 << 20;
  int presence_grace_ms = 5000;
  HttpSettings http;
  /// AUTH_MODE=accounts: the key that checks access tokens (AUTH_SECRET or AUTH_KEY_FILE, the same
  /// as message-service's) and ALLOWED_ORIGINS.
  AuthSettings auth;
  /// AUTH_MODE=accounts: open streams per signed-in user and per client address.
  size_t max_streams_per_user = 20;
  size_t max_streams_per_address = 1000;
};

/// Reads NotifyServiceConfig from the environment; on an invalid value prints one line to stderr
/// and exits with code 2.
NotifyServiceConfig load_notify_service_config();

}  // namespace relay
