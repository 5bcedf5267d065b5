#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "shared/redis/redis_connection.h"
#include "shared/redis/redis_url.h"

namespace relay {

/// BROKER=redis: the single use of a stream ticket across notify-service instances. Each
/// instance still remembers the tickets it took (UsedTickets); this records each first use in
/// Redis too (`SET relay:ticket:<id> NX` expiring with the ticket), so a ticket that opened a
/// stream on one instance is refused on every other. Called from an event loop, so every call is
/// bounded by a short timeout; when Redis cannot answer, the ticket is refused (fail closed).
/// Thread-safe.
class ClusterTickets {
 public:
  static constexpr int kTimeoutMs = 250;
  explicit ClusterTickets(const RedisUrl& url) : connection_(url, kTimeoutMs) {}

  /// true: this is the ticket's first use anywhere; false: it was used before; nullopt: Redis
  /// did not answer. `ttl_ms`: until the ticket expires (at least 1).
  std::optional<bool> claim(const std::string& ticket_id, int64_t ttl_ms);

 private:
  std::mutex mutex_;
  RedisConnection connection_;  // guarded by mutex_
};

}  // namespace relay
