// Unit tests of shared/config_env.h. Each test case runs in its own process under ctest, and the
// variables used are unique to this file, so setenv does not leak into other tests.

#include "shared/config_env.h"
#include "shared/exposure.h"

#include <cstdlib>

#include <doctest/doctest.h>

namespace relay {

TEST_SUITE_BEGIN("config_env");

TEST_CASE("config_env: integers within bounds, defaults when unset or empty") {
  EnvReader env;
  ::unsetenv("RELAY_TEST_UNSET");
  ::setenv("RELAY_TEST_EMPTY", "", 1);
  ::setenv("RELAY_TEST_INT", "42", 1);
  CHECK(env.integer("RELAY_TEST_UNSET", 7, 0, 100) == 7);
  CHECK(env.integer("RELAY_TEST_EMPTY", 8, 0, 100) == 8);
  CHECK(env.integer("RELAY_TEST_INT", 7, 0, 100) == 42);
  CHECK(env.integer("RELAY_TEST_INT", 7, 42, 42) == 42);
  CHECK(env.errors().empty());
}

TEST_CASE("config_env: a bad integer is recorded and the default returned") {
  for (const char* value : {"abc", "-1", "101", "1.5", " 5", "5x"}) {
    CAPTURE(value);
    EnvReader env;
    ::setenv("RELAY_TEST_PORT", value, 1);
    CHECK(env.integer("RELAY_TEST_PORT", 9, 0, 100) == 9);
    REQUIRE(env.errors().size() == 1);
    CHECK(env.errors()[0].find("RELAY_TEST_PORT") != std::string::npos);
  }
}

TEST_CASE("config_env: text") {
  EnvReader env;
  ::setenv("RELAY_TEST_TEXT", "s3cret token", 1);
  ::unsetenv("RELAY_TEST_UNSET");
  CHECK(env.text("RELAY_TEST_TEXT", "x") == "s3cret token");
  CHECK(env.text("RELAY_TEST_UNSET", "fallback") == "fallback");
  CHECK(env.errors().empty());
}

TEST_CASE("config_env: service URLs") {
  EnvReader env;
  auto read = [&env](const char* value) {
    ::setenv("RELAY_TEST_URL", value, 1);
    return env.service_url("RELAY_TEST_URL", "http://fallback");
  };
  CHECK(read("http://127.0.0.1:8081") == "http://127.0.0.1:8081");
  CHECK(read("http://127.0.0.1:8081/") == "http://127.0.0.1:8081");
  CHECK(read("https://notify.example.com") == "https://notify.example.com");
  CHECK(read("http://[::1]:9000") == "http://[::1]:9000");
  CHECK(env.errors().empty());
  for (const char* bad : {"ftp://host", "127.0.0.1:8081", "http://host/path", "http://", "garbage",
                          "http://host:port"}) {
    CAPTURE(bad);
    size_t before = env.errors().size();
    CHECK(read(bad) == "http://fallback");
    CHECK(env.errors().size() == before + 1);
  }
}

TEST_CASE("config_env: choices and flags") {
  EnvReader env;
  ::setenv("RELAY_TEST_CHOICE", "b", 1);
  CHECK(env.choice("RELAY_TEST_CHOICE", "a", {"a", "b"}) == "b");
  ::unsetenv("RELAY_TEST_CHOICE");
  CHECK(env.choice("RELAY_TEST_CHOICE", "a", {"a", "b"}) == "a");
  for (const char* yes : {"1", "true", "yes"}) {
    ::setenv("RELAY_TEST_FLAG", yes, 1);
    CHECK(env.flag("RELAY_TEST_FLAG", false));
  }
  for (const char* no : {"0", "false", "no"}) {
    ::setenv("RELAY_TEST_FLAG", no, 1);
    CHECK_FALSE(env.flag("RELAY_TEST_FLAG", true));
  }
  CHECK(env.errors().empty());
  ::setenv("RELAY_TEST_CHOICE", "B", 1);
  CHECK(env.choice("RELAY_TEST_CHOICE", "a", {"a", "b"}) == "a");
  ::setenv("RELAY_TEST_FLAG", "on", 1);
  CHECK(env.flag("RELAY_TEST_FLAG", false) == false);
  REQUIRE(env.errors().size() == 2);
  CHECK(env.errors()[0].find("expected one of a, b") != std::string::npos);
  CHECK(env.errors()[1].find("RELAY_TEST_FLAG") != std::string::npos);
}

TEST_CASE("exposure: loopback addresses, and an open service off loopback is refused") {
  for (const char* loopback : {"127.0.0.1", "127.1.2.3", "::1", "localhost"}) {
    CHECK(is_loopback_bind_address(loopback));
  }
  for (const char* network : {"0.0.0.0", "::", "10.0.0.1", "::ffff:127.0.0.1", "128.0.0.1", ""}) {
    CHECK_FALSE(is_loopback_bind_address(network));
  }
  ::unsetenv("AUTH_MODE");
  ::unsetenv("ALLOW_OPEN_NETWORK");
  ::unsetenv("BIND_ADDRESS");
  {
    EnvReader env;
    Exposure exposure = read_exposure(env);
    CHECK(exposure.bind_address == "127.0.0.1");
    CHECK(exposure.auth_mode == Exposure::AuthMode::kOpen);
    CHECK_FALSE(exposure.allow_open_network);
    CHECK(env.errors().empty());
  }
  ::setenv("BIND_ADDRESS", "0.0.0.0", 1);
  {
    EnvReader env;
    read_exposure(env);
    REQUIRE(env.errors().size() == 1);
    CHECK(env.errors()[0].find("ALLOW_OPEN_NETWORK=1") != std::string::npos);
  }
  ::setenv("ALLOW_OPEN_NETWORK", "1", 1);
  {
    EnvReader env;
    Exposure exposure = read_exposure(env);
    CHECK(exposure.bind_address == "0.0.0.0");
    CHECK(exposure.allow_open_network);
    CHECK(env.errors().empty());
  }
  ::unsetenv("BIND_ADDRESS");  // the services' own names: leave nothing for a later case
  ::unsetenv("ALLOW_OPEN_NETWORK");
}

TEST_SUITE_END();

}  // namespace relay
