// GET /channels on the real message-service: the channels that have messages, with counts and
// last activity, newest first; direct messages never show up there.
#include <doctest/doctest.h>

#include "tests/integration/auth_modes.h"
#include "tests/integration/harness.h"

namespace relay::itest {

TEST_CASE_TEMPLATE(
    "channels: GET /channels lists channels with counts and last activity, newest first", Mode,
    OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("ann");
  HttpClient bob = relay.message_as("bob");

  HttpResponse empty = http.get("/channels");
  REQUIRE(empty.status == 200);
  CHECK(empty.json() == Json{{"channels", Json::array()}});

  Json first = post_message(http, {{"content", "a1"}, {"user", "ann"}, {"channel", "general"}});
  post_message(http, {{"content", "r1"}, {"user", "ann"}, {"channel", "random"}});
  Json last_general =
      post_message(bob, {{"content", "a2"}, {"user", "bob"}, {"channel", "general"}});
  // A direct message is not channel activity, whatever its "channel" says.
  post_message(http, {{"content", "psst"}, {"user", "ann"}, {"to", "bob"}, {"channel", "secret"}});

  HttpResponse listed = http.get("/channels");
  REQUIRE(listed.status == 200);
  Json channels = listed.json()["channels"];
  REQUIRE_MESSAGE(channels.size() == 2, listed.describe());
  CHECK(channels[0]["name"] == "general");
  CHECK(channels[0]["messages"] == 2);
  CHECK(channels[0]["last_message_id"] == last_general["id"]);
  CHECK(channels[0]["last_activity"] == last_general["timestamp"]);
  CHECK(channels[1]["name"] == "random");
  CHECK(channels[1]["messages"] == 1);
  CHECK(std::stoll(channels[1]["last_message_id"].get<std::string>()) >
        std::stoll(first["id"].get<std::string>()));

  // GET lists, POST creates (private_channels_test.cc); nothing else.
  HttpResponse refused = http.del("/channels");
  CHECK(refused.status == 405);
  CHECK(refused.json()["error"] == "method_not_allowed");
}

}  // namespace relay::itest
