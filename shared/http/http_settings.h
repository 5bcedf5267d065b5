#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "shared/config_env.h"
#include "shared/http/http_server.h"

namespace relay {

/// The HTTP server settings both services read from the environment (README, Limits):
/// REQUEST_HEADER_TIMEOUT and REQUEST_BODY_TIMEOUT (seconds), KEEP_ALIVE_SECONDS,
/// MAX_CONNECTIONS (default: the process's descriptor limit less 512), MAX_IDLE_CONNECTIONS,
/// EVENT_THREADS (event loops; 0 = one per core), WORKER_THREADS (the blocking-work pool) and
/// TRUSTED_PROXIES (comma-separated IP addresses whose X-Forwarded-For names the client).
struct HttpSettings {
  HttpServerLimits limits;
  size_t loop_threads = 0;  // 0: one per core
  size_t worker_threads = 4;
  std::vector<std::string> trusted_proxies;  // TRUSTED_PROXIES

  /// Fills `options` (limits, loop and worker threads) from these settings.
  void apply(HttpServer::Options* options) const;
};

/// Reads HttpSettings with `env` (errors are recorded in `env`, as for every setting).
HttpSettings read_http_settings(EnvReader& env, int default_keep_alive_seconds = 5);

}  // namespace relay
