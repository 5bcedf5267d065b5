#pragma once

// What the BROKER=redis and cluster tests share: a real redis-server with the settings that put
// both services on it, more notify-service instances on the same bus, and small helpers to post and
// to read what a stream or the Redis stream holds. Drive it from the test's main thread.

#include <memory>
#include <string>
#include <vector>

#include "tests/integration/harness.h"
#include "tests/support/redis_server.h"

namespace relay::itest {

/// A fresh redis-server (REQUIREd to start), and the settings that put both services on it.
struct Bus {
  TempDir dir;
  RedisServer redis{dir.subdir("redis")};

  Bus();
  /// `base` with BROKER=redis and this REDIS_URL for both services.
  RelayOptions options(RelayOptions base = {}) const;
};

/// One more notify-service instance on the bus: the relay's notify environment, a free port of
/// its own. REQUIREs it to start.
std::unique_ptr<ServiceProcess> start_instance(Relay& relay, const std::string& name);

/// Waits until an instance's /health says it is connected to Redis and (accounts mode) holds the
/// private channels; REQUIREs it.
void wait_ready(int port, bool accounts);

/// The `resume` of a stream's connected event ("none", "ring", "history"), or "".
std::string resume_of(const SseStream& stream);

/// The numeric entry ids of the Redis events stream, in stream order.
std::vector<int64_t> stream_ids(RedisServer& redis);

/// Posts `count` messages ("<prefix><i>") as whoever `http` speaks for; REQUIREs 201s.
std::vector<int64_t> post_many(const HttpClient& http, const std::string& prefix, int count);

/// `ids` followed by `marker`.
std::vector<int64_t> with(std::vector<int64_t> ids, int64_t marker);

}  // namespace relay::itest
