// Unit tests of shared/redis/redis_url.h: the forms of REDIS_URL taken, the ones refused, and a
// password that never reaches a log line.

#include "shared/redis/redis_url.h"

#include <doctest/doctest.h>

namespace relay {

TEST_SUITE_BEGIN("redis_url");

TEST_CASE("redis_url: host, port, credentials, database and unix sockets") {
  std::string error;
  auto plain = parse_redis_url("redis://127.0.0.1:6390", &error);
  REQUIRE(plain.has_value());
  CHECK(plain->host == "127.0.0.1");
  CHECK(plain->port == 6390);
  CHECK(plain->database == 0);
  CHECK(plain->password.empty());

  auto defaults = parse_redis_url("redis://cache.internal", &error);
  REQUIRE(defaults.has_value());
  CHECK(defaults->host == "cache.internal");
  CHECK(defaults->port == 6379);

  auto full = parse_redis_url("redis://relay:s3cret:x@10.0.0.5:7000/3", &error);
  REQUIRE(full.has_value());
  CHECK(full->user == "relay");
  CHECK(full->password == "s3cret:x");
  CHECK(full->host == "10.0.0.5");
  CHECK(full->port == 7000);
  CHECK(full->database == 3);
  CHECK(full->display().find("s3cret") == std::string::npos);
  CHECK(full->display() == "redis://relay:***@10.0.0.5:7000/3");

  auto password_only = parse_redis_url("redis://:pw@localhost", &error);
  REQUIRE(password_only.has_value());
  CHECK(password_only->user.empty());
  CHECK(password_only->password == "pw");

  auto socket = parse_redis_url("unix:///run/redis/redis.sock", &error);
  REQUIRE(socket.has_value());
  CHECK(socket->socket_path == "/run/redis/redis.sock");
  CHECK(socket->display() == "unix:///run/redis/redis.sock");
}

TEST_CASE("redis_url: anything else is refused with a reason") {
  for (const char* bad :
       {"", "http://127.0.0.1:6379", "redis://", "redis://:6379", "redis://host:0",
        "redis://host:65536", "redis://host:12ab", "redis://host/db", "unix://relative.sock",
        "unix://", "redis://ho\nst:6379", "redis://host\r:6379"}) {
    CAPTURE(bad);
    std::string error;
    CHECK_FALSE(parse_redis_url(bad, &error).has_value());
    CHECK_FALSE(error.empty());
  }
}

TEST_SUITE_END();

}  // namespace relay
