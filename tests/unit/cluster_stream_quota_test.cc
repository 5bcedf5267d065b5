// ClusterStreamQuota against a real redis-server: several quota objects on one Redis are several
// notify-service instances sharing MAX_STREAMS_PER_USER and MAX_STREAMS_PER_ADDRESS.
#include "notify-service/cluster_stream_quota.h"

#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "tests/support/redis_server.h"

namespace relay {
namespace {

using namespace std::chrono_literals;
using testing::RedisServer;
using Verdict = StreamQuota::Verdict;

constexpr size_t kPerUser = 2;
constexpr size_t kPerAddress = 3;
// Short, so that a dead instance stops counting within two seconds, with the beat well inside it
// (a loaded machine can hold a thread back for most of a second). A generous timeout: there a
// reply can take longer than the service's 250 ms too, and a slow Redis is not what these test.
constexpr ClusterStreamQuota::Timing kTiming{.heartbeat = 100ms, .ttl = 2000ms, .timeout = 2000ms};

struct Cluster {
  testing::TempDir dir;
  RedisServer redis{dir.subdir("redis")};
  Logger logger{"notify"};
  Cluster() { REQUIRE_MESSAGE(redis.start(), redis.diagnostics()); }

  /// An instance named `id`; its heartbeat runs only when `beating`.
  std::unique_ptr<ClusterStreamQuota> instance(const std::string& id, bool beating = true) {
    std::string error;
    auto url = parse_redis_url(redis.url(), &error);
    REQUIRE_MESSAGE(url, error);
    auto quota =
        std::make_unique<ClusterStreamQuota>(*url, id, kPerUser, kPerAddress, logger, kTiming);
    if (beating) quota->start();
    return quota;
  }

  /// What Redis holds for `field` in instance `id`'s hash (0 when absent).
  long long count(const std::string& id, const std::string& field) {
    auto reply = redis.command({"HGET", ClusterStreamQuota::kKeyPrefix + id, field});
    REQUIRE(reply.has_value());
    return reply->type == RedisReply::Type::kString ? std::stoll(reply->text) : 0;
  }
};

/// Asks until `quota` grants `user` a stream from `address` (a release travels to Redis on the
/// quota's thread, and an expiry takes the TTL).
bool granted_eventually(ClusterStreamQuota& quota, const std::string& user,
                        const std::string& address) {
  return testing::eventually([&] { return quota.acquire(user, address) == Verdict::kGranted; },
                             10s);
}

}  // namespace

TEST_SUITE_BEGIN("unit");

TEST_CASE(
    "cluster stream quota: instances on one Redis share the per-user and per-address budget") {
  Cluster cluster;
  auto a = cluster.instance("a");
  auto b = cluster.instance("b");

  CHECK(a->acquire("alice", "10.0.0.1") == Verdict::kGranted);
  CHECK(b->acquire("alice", "10.0.0.2") == Verdict::kGranted);
  // Two open in the cluster, one on each: a third is refused on either.
  CHECK(a->acquire("alice", "10.0.0.3") == Verdict::kUserFull);
  CHECK(b->acquire("alice", "10.0.0.3") == Verdict::kUserFull);
  CHECK(cluster.count("a", "user:alice") == 1);
  CHECK(cluster.count("b", "user:alice") == 1);

  // 10.0.0.1 holds alice's (on a); bob's and carol's make three over both instances.
  CHECK(b->acquire("bob", "10.0.0.1") == Verdict::kGranted);
  CHECK(a->acquire("carol", "10.0.0.1") == Verdict::kGranted);
  CHECK(b->acquire("dave", "10.0.0.1") == Verdict::kAddressFull);
  CHECK(b->acquire("dave", "10.0.0.4") == Verdict::kGranted);

  // The heartbeats keep both hashes alive past their TTL: the budget stays spent.
  std::this_thread::sleep_for(kTiming.ttl * 3 / 2);
  CHECK(b->acquire("alice", "10.0.0.3") == Verdict::kUserFull);
  CHECK(a->acquire("erin", "10.0.0.1") == Verdict::kAddressFull);

  // A release on one instance gives the place back to the other.
  a->release("alice", "10.0.0.1");
  CHECK(granted_eventually(*b, "alice", "10.0.0.3"));
  CHECK(cluster.count("a", "user:alice") == 0);
  CHECK(cluster.count("b", "user:alice") == 2);
  CHECK(a->acquire("alice", "10.0.0.3") == Verdict::kUserFull);
  CHECK(granted_eventually(*a, "erin", "10.0.0.1"));  // alice's stream from there was released
  CHECK(a->shared());
  CHECK(b->shared());
}

TEST_CASE(
    "cluster stream quota: an instance without a heartbeat stops counting after its TTL, and a "
    "clean stop gives back at once") {
  Cluster cluster;
  auto live = cluster.instance("live");
  auto dead = cluster.instance("dead", /*beating=*/false);  // as one killed with -9
  CHECK(dead->acquire("alice", "10.0.0.1") == Verdict::kGranted);
  CHECK(dead->acquire("alice", "10.0.0.2") == Verdict::kGranted);
  CHECK(live->acquire("alice", "10.0.0.3") == Verdict::kUserFull);
  auto registry = cluster.redis.command({"SMEMBERS", ClusterStreamQuota::kRegistryKey});
  REQUIRE(registry.has_value());
  CHECK(registry->elements.size() == 1);  // "dead"; "live" holds nothing yet

  auto started = std::chrono::steady_clock::now();
  CHECK(granted_eventually(*live, "alice", "10.0.0.3"));
  CHECK(std::chrono::steady_clock::now() - started >= kTiming.ttl / 2);
  // The dead instance's hash expired and left the registry; the live one is listed.
  CHECK(cluster.redis.command({"EXISTS", ClusterStreamQuota::kKeyPrefix + std::string("dead")})
            ->integer == 0);
  CHECK(cluster.redis.command({"SISMEMBER", ClusterStreamQuota::kRegistryKey, "dead"})->integer ==
        0);
  CHECK(cluster.redis.command({"SISMEMBER", ClusterStreamQuota::kRegistryKey, "live"})->integer ==
        1);

  auto leaving = cluster.instance("leaving");
  CHECK(leaving->acquire("alice", "10.0.0.4") == Verdict::kGranted);
  CHECK(live->acquire("alice", "10.0.0.5") == Verdict::kUserFull);
  leaving->stop();
  CHECK(live->acquire("alice", "10.0.0.5") == Verdict::kGranted);
}

TEST_CASE(
    "cluster stream quota: without Redis each instance decides on its own counts, and shares them "
    "once Redis is back") {
  Cluster cluster;
  auto a = cluster.instance("a");
  auto b = cluster.instance("b");
  CHECK(a->acquire("alice", "10.0.0.1") == Verdict::kGranted);
  cluster.redis.kill9();

  // Fail open to this instance's counts: a grants alice one more, then refuses; b, which holds
  // none of hers, grants her two.
  CHECK(a->acquire("alice", "10.0.0.1") == Verdict::kGranted);
  CHECK_FALSE(a->shared());
  CHECK(a->acquire("alice", "10.0.0.1") == Verdict::kUserFull);
  CHECK(a->acquire("bob", "10.0.0.1") == Verdict::kGranted);
  CHECK(a->acquire("carol", "10.0.0.1") == Verdict::kAddressFull);
  CHECK(b->acquire("alice", "10.0.0.2") == Verdict::kGranted);
  CHECK(b->acquire("alice", "10.0.0.2") == Verdict::kGranted);
  // Releases while Redis is away are not lost: the hashes are rewritten from the local counts.
  a->release("alice", "10.0.0.1");
  a->release("bob", "10.0.0.1");
  b->release("alice", "10.0.0.2");

  REQUIRE_MESSAGE(cluster.redis.start(), cluster.redis.diagnostics());
  CHECK(testing::eventually([&] {
    return a->shared() && b->shared() && cluster.count("a", "user:alice") == 1 &&
           cluster.count("a", "user:bob") == 0 && cluster.count("a", "address:10.0.0.1") == 1 &&
           cluster.count("b", "user:alice") == 1;
  }));
  CHECK(a->acquire("alice", "10.0.0.3") == Verdict::kUserFull);
  b->release("alice", "10.0.0.2");
  CHECK(granted_eventually(*a, "alice", "10.0.0.3"));
}

TEST_SUITE_END();

}  // namespace relay
