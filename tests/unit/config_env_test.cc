// Unit tests of shared/config_env.h. Each test case runs in its own process under ctest, and the
// variables used are unique to this file, so setenv does not leak into other tests.

#include "shared/config_env.h"

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

TEST_SUITE_END();

}  // namespace relay
