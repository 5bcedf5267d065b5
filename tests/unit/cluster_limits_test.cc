// The rate limits and the sign-in throttle of STORE=postgres (ClusterLimits under SharedRateLimiter
// and SharedLoginThrottle): two objects, as two message-service instances would hold, on one real
// redis-server spend one budget; with Redis stalled or gone each falls back to its own count at
// once, and Redis decides again once it is back.
#include <doctest/doctest.h>

#include <chrono>
#include <functional>
#include <thread>

#include "message-service/cluster_limits.h"
#include "message-service/shared_login_throttle.h"
#include "message-service/shared_rate_limiter.h"
#include "shared/redis/redis_url.h"
#include "tests/support/redis_server.h"

namespace relay {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

/// A real Redis and two instances' ClusterLimits on it, each with its own metrics.
struct TwoInstances {
  testing::TempDir dir;
  testing::RedisServer redis{dir.subdir("redis")};
  Logger logger{"test"};
  MetricsRegistry metrics_a;
  MetricsRegistry metrics_b;
  std::unique_ptr<ClusterLimits> a;
  std::unique_ptr<ClusterLimits> b;

  TwoInstances() {
    REQUIRE_MESSAGE(redis.start(), redis.diagnostics());
    std::string error;
    auto url = parse_redis_url(redis.url(), &error);
    REQUIRE_MESSAGE(url, error);
    a = std::make_unique<ClusterLimits>(*url, logger, metrics_a);
    b = std::make_unique<ClusterLimits>(*url, logger, metrics_b);
  }
  ~TwoInstances() { redis.resume(); }

  uint64_t fallbacks(MetricsRegistry& metrics) {
    return metrics.counter("relay_rate_limit_fallbacks_total", "").value();
  }
};

// Almost no refill, so a test's own duration does not change the counts.
constexpr double kSlow = 0.001;

/// How many of `count` calls of `allow` passed; `took` gets how long they took.
int allowed_of(int count, const std::function<bool()>& allow, Clock::duration* took = nullptr) {
  auto start = Clock::now();
  int passed = 0;
  for (int i = 0; i < count; ++i) passed += allow() ? 1 : 0;
  if (took != nullptr) *took = Clock::now() - start;
  return passed;
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE("cluster limits: two instances' limiters on one Redis spend one budget per key") {
  TwoInstances cluster;
  SharedRateLimiter first("messages", 5, kSlow, cluster.a.get());
  SharedRateLimiter second("messages", 5, kSlow, cluster.b.get());
  // Alternating, as behind a load balancer: 5 in all, not 5 each.
  int turn = 0;
  CHECK(allowed_of(12, [&] { return (turn++ % 2 == 0 ? first : second).allow("alice"); }) == 5);
  CHECK(second.allow("bob"));  // another key has its own bucket
  SharedRateLimiter typing("typing", 5, kSlow, cluster.a.get());
  CHECK(typing.allow("alice"));  // and so has another limit
  // The bucket expires once it would be full again (5 tokens at 0.001/s: about 5000 s).
  auto ttl = cluster.redis.command({"PTTL", "relay:rate:messages:alice"});
  REQUIRE(ttl);
  CHECK(ttl->integer > 4000 * 1000);
  CHECK(ttl->integer <= 5001 * 1000);
  CHECK(cluster.fallbacks(cluster.metrics_a) == 0);
  CHECK(cluster.fallbacks(cluster.metrics_b) == 0);

  // Tokens come back at the rate, on Redis's clock, for every instance.
  SharedRateLimiter fast_a("fast", 2, 20, cluster.a.get());
  SharedRateLimiter fast_b("fast", 2, 20, cluster.b.get());
  CHECK(fast_a.allow("carol"));
  CHECK(fast_b.allow("carol"));
  CHECK_FALSE(fast_a.allow("carol"));
  std::this_thread::sleep_for(120ms);  // 2.4 tokens back, capped at 2 (the local buckets too)
  CHECK(fast_b.allow("carol"));
  CHECK(fast_a.allow("carol"));
}

TEST_CASE(
    "cluster limits: Redis stalled or stopped: each instance's own limit answers without waiting "
    "long, the outage is counted, and Redis decides again once it is back") {
  TwoInstances cluster;
  SharedRateLimiter first("messages", 5, kSlow, cluster.a.get());
  SharedRateLimiter second("messages", 5, kSlow, cluster.b.get());
  CHECK(allowed_of(5, [&] { return second.allow("erin"); }) == 5);  // erin's shared bucket: empty

  cluster.redis.pause();  // takes commands, answers none
  Clock::duration took{};
  // A fresh key: the first call waits for the timeout, the next ones not even that (the pause);
  // past the local burst the local bucket refuses.
  CHECK(allowed_of(
            8, [&] { return first.allow("frank"); }, &took) == 5);
  CHECK(took < 1s);
  CHECK(cluster.fallbacks(cluster.metrics_a) >= 1);
  cluster.redis.resume();

  // Past the pause after the failure, Redis is asked again: erin's empty shared bucket refuses
  // although first's own bucket for erin is full.
  std::this_thread::sleep_for(std::chrono::milliseconds(ClusterLimits::kPauseMs + 100));
  CHECK_FALSE(first.allow("erin"));
  uint64_t fallbacks = cluster.fallbacks(cluster.metrics_a);

  cluster.redis.kill9();  // gone: refused connections
  CHECK(allowed_of(
            8, [&] { return first.allow("grace"); }, &took) == 5);
  CHECK(took < 1s);
  CHECK(cluster.fallbacks(cluster.metrics_a) > fallbacks);
}

TEST_CASE(
    "cluster limits: failed sign-ins on two instances lock the key out on both, a success on one "
    "clears it for both, and the window ends on Redis's clock") {
  TwoInstances cluster;
  SharedLoginThrottle first(5, std::chrono::minutes(15), cluster.a.get());
  SharedLoginThrottle second(5, std::chrono::minutes(15), cluster.b.get());
  for (int i = 0; i < 4; ++i) (i % 2 == 0 ? first : second).record_failure("user:alice");
  CHECK(first.retry_after_s("user:alice") == 0);
  CHECK(second.retry_after_s("user:alice") == 0);
  second.record_failure("user:alice");  // the 5th: 3 here, 2 on first, 5 in Redis
  CHECK(first.retry_after_s("user:alice") > 890);
  CHECK(first.retry_after_s("user:alice") <= 900);
  CHECK(second.retry_after_s("user:alice") > 890);
  CHECK(second.retry_after_s("user:bob") == 0);
  first.forget("user:alice");
  CHECK(second.retry_after_s("user:alice") == 0);
  CHECK(cluster.redis.command({"EXISTS", "relay:login:user:alice"})->integer == 0);

  SharedLoginThrottle short_a(2, 1s, cluster.a.get());
  SharedLoginThrottle short_b(2, 1s, cluster.b.get());
  short_a.record_failure("addr:10.0.0.1");
  short_b.record_failure("addr:10.0.0.1");
  CHECK(short_b.retry_after_s("addr:10.0.0.1") == 1);
  CHECK(testing::eventually([&] { return short_b.retry_after_s("addr:10.0.0.1") == 0; }, 3s));

  // Redis gone: each instance counts alone, at once.
  cluster.redis.kill9();
  auto start = Clock::now();
  for (int i = 0; i < 4; ++i) first.record_failure("user:dave");
  CHECK(first.retry_after_s("user:dave") == 0);  // 4 here; the shared count is out of reach
  first.record_failure("user:dave");
  CHECK(first.retry_after_s("user:dave") > 0);
  CHECK(second.retry_after_s("user:dave") == 0);
  CHECK(Clock::now() - start < 1s);
}

TEST_SUITE_END();

}  // namespace relay
