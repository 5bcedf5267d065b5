#include "message-service/rate_limiter.h"

#include <doctest/doctest.h>

namespace relay {

TEST_SUITE_BEGIN("unit");

TEST_CASE("rate_limiter: a burst, then refills at the rate, per key") {
  RateLimiter limiter(3, 2);  // 3 at once, 2 more each second
  auto start = RateLimiter::Clock::now();
  CHECK(limiter.allow("a", start));
  CHECK(limiter.allow("a", start));
  CHECK(limiter.allow("a", start));
  CHECK_FALSE(limiter.allow("a", start));
  CHECK(limiter.allow("b", start));  // another key has its own bucket
  CHECK_FALSE(limiter.allow("a", start + std::chrono::milliseconds(400)));  // 0.8 of one
  CHECK(limiter.allow("a", start + std::chrono::milliseconds(500)));
  CHECK_FALSE(limiter.allow("a", start + std::chrono::milliseconds(500)));
  // Never more than the burst, however long a key was idle.
  auto later = start + std::chrono::hours(1);
  for (int i = 0; i < 3; ++i) CHECK(limiter.allow("a", later));
  CHECK_FALSE(limiter.allow("a", later));
}

TEST_CASE("rate_limiter: many idle keys are forgotten without losing the busy ones' state") {
  RateLimiter limiter(1, 1);
  auto start = RateLimiter::Clock::now();
  CHECK(limiter.allow("busy", start));
  for (int i = 0; i < 5000; ++i) {
    std::string key = "k";  // appended, not `"k" + std::to_string(i)`: GCC 12 false -Wrestrict
    limiter.allow(key.append(std::to_string(i)), start);
  }
  // Pruning ran (past 4096 keys); "busy" spent its token at `start` and has none yet.
  CHECK_FALSE(limiter.allow("busy", start));
  CHECK(limiter.allow("busy", start + std::chrono::seconds(1)));
}

TEST_SUITE_END();

}  // namespace relay
