#include "shared/http/http_settings.h"

#include <sys/resource.h>

#include <algorithm>
#include <thread>

#include "shared/http/forwarded_for.h"

namespace relay {

namespace {

size_t default_max_connections() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0 || limit.rlim_cur == RLIM_INFINITY) return 19000;
  // Room for the store, logs, outbound clients and the listening socket.
  return limit.rlim_cur > 1024 ? static_cast<size_t>(limit.rlim_cur) - 512 : 512;
}

}  // namespace

void HttpSettings::apply(HttpServer::Options* options) const {
  options->limits = limits;
  options->loop_threads = loop_threads != 0
                              ? loop_threads
                              : std::clamp<size_t>(std::thread::hardware_concurrency(), 1, 16);
  options->worker_threads = worker_threads;
  options->trusted_proxies = trusted_proxies;
}

HttpSettings read_http_settings(EnvReader& env, int default_keep_alive_seconds) {
  HttpSettings settings;
  auto& limits = settings.limits;
  limits.header_timeout = std::chrono::seconds(env.integer("REQUEST_HEADER_TIMEOUT", 10, 1, 3600));
  limits.body_timeout = std::chrono::seconds(env.integer("REQUEST_BODY_TIMEOUT", 10, 1, 3600));
  limits.keep_alive_timeout =
      std::chrono::seconds(env.integer("KEEP_ALIVE_SECONDS", default_keep_alive_seconds, 1, 3600));
  limits.max_connections = static_cast<size_t>(
      env.integer("MAX_CONNECTIONS", static_cast<int64_t>(default_max_connections()), 1, 10000000));
  limits.max_idle_connections = static_cast<size_t>(env.integer(
      "MAX_IDLE_CONNECTIONS", static_cast<int64_t>(limits.max_idle_connections), 1, 10000000));
  settings.loop_threads = static_cast<size_t>(env.integer("EVENT_THREADS", 0, 0, 16));
  settings.worker_threads = static_cast<size_t>(env.integer("WORKER_THREADS", 4, 1, 256));
  for (const auto& proxy : env.list("TRUSTED_PROXIES")) {
    if (!is_ip_address(proxy)) {
      env.refuse("TRUSTED_PROXIES must be comma-separated IP addresses (such as 127.0.0.1)");
      break;
    }
    settings.trusted_proxies.push_back(proxy);
  }
  return settings;
}

}  // namespace relay
