// Private channels against the real binaries (AUTH_MODE=accounts): to anyone but their members
// they do not exist on any route of either service, live or on resume; membership changes reach
// open streams at once, without a reconnect; notify-service restarted with an empty table never
// serves a private channel's events to outsiders; and open mode refuses them.

#include <doctest/doctest.h>

#include "tests/integration/accounts_support.h"

namespace relay::itest {

namespace {

// Posts `content` to `channel` as `account`; REQUIREs a 201 and returns the id.
int64_t post_as(const HttpClient& http, const Account& account, const std::string& channel,
                const std::string& content) {
  return id_of(
      post_message(http, {{"content", content}, {"channel", channel}}, bearer(account.token)));
}

// The events of `type` a stream received, as JSON.
std::vector<Json> events_of(const SseStream& stream, const std::string& type) {
  std::vector<Json> found;
  for (const auto& event : stream.events()) {
    if (event.event == type) found.push_back(Json::parse(event.data, nullptr, false));
  }
  return found;
}

// True when `stream` got a membership event saying `user` was `state` in `channel`.
bool has_membership(const SseStream& stream, const std::string& channel, const std::string& user,
                    const std::string& state) {
  for (const auto& event : events_of(stream, "membership")) {
    if (event.value("channel", "") == channel && event.value("user", "") == user &&
        event.value("state", "") == state) {
      return true;
    }
  }
  return false;
}

bool lists_channel(const HttpResponse& response, const std::string& name) {
  Json body = response.json();
  for (const auto& channel : body["channels"]) {
    if (channel.value("name", "") == name) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("private channels: invisible to outsiders on every route, live and on resume") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  auto notify = relay.notify_http();
  Account alice = register_account(http, "alice");
  Account bob = register_account(http, "bob");
  Account carol = register_account(http, "carol");

  auto created =
      http.post_json("/channels", {{"name", "secret"}, {"private", true}}, bearer(alice.token));
  REQUIRE_MESSAGE(created.status == 201, created.describe());
  CHECK(created.json()["private"] == true);
  CHECK(created.json()["owner"] == "alice");
  CHECK(created.json()["members"] == Json::array({"alice"}));
  auto added = http.post_json("/channels/secret/members", {{"user", "bob"}}, bearer(alice.token));
  REQUIRE_MESSAGE(added.status == 201, added.describe());
  CHECK(added.json()["members"] == Json::array({"alice", "bob"}));
  // Adding again changes nothing; adding an account that does not exist is refused.
  CHECK(http.post_json("/channels/secret/members", {{"user", "bob"}}, bearer(alice.token)).status ==
        200);
  auto nobody = http.post_json("/channels/secret/members", {{"user", "zed"}}, bearer(alice.token));
  CHECK(nobody.status == 404);
  CHECK(nobody.json()["error"] == "user_not_found");
  // The name is taken, whoever asks.
  CHECK(http.post_json("/channels", {{"name", "secret"}}, bearer(carol.token)).status == 409);

  SseStream alice_live(relay.notify_port(), "/events", bearer(alice.token));
  SseStream bob_live(relay.notify_port(), "/events", bearer(bob.token));
  SseStream carol_live(relay.notify_port(), "/events", bearer(carol.token));
  REQUIRE(alice_live.wait_connected());
  REQUIRE(bob_live.wait_connected());
  REQUIRE(carol_live.wait_connected());
  SseStream carol_follows(relay.notify_port(), "/events?channels=general,secret",
                          bearer(carol.token));
  REQUIRE(carol_follows.wait_ended());
  CHECK(carol_follows.status() == 404);
  CHECK(carol_follows.body().find("channel_not_found") != std::string::npos);

  int64_t hidden = post_as(http, alice, "secret", "the plan");
  // bob types in the channel, then in general: carol gets the second only.
  CHECK(http.post_json("/typing", {{"channel", "secret"}}, bearer(bob.token)).status == 202);
  CHECK(http.post_json("/typing", {{"channel", "general"}}, bearer(bob.token)).status == 202);
  int64_t marker = post_as(http, alice, "general", "marker");
  REQUIRE(alice_live.wait_message_id(marker));
  REQUIRE(bob_live.wait_message_id(marker));
  REQUIRE(carol_live.wait_message_id(marker));
  CHECK(compare_ids(alice_live.message_ids(), {hidden, marker}) == "");
  CHECK(compare_ids(bob_live.message_ids(), {hidden, marker}) == "");
  CHECK(compare_ids(carol_live.message_ids(), {marker}) == "");
  REQUIRE(alice_live.wait_until([&] { return alice_live.count_events("typing") >= 2; }));
  REQUIRE(carol_live.wait_until([&] { return carol_live.count_events("typing") >= 1; }));
  for (const auto& typing : events_of(carol_live, "typing")) CHECK(typing["channel"] != "secret");
  CHECK(carol_live.raw_prefix().find("the plan") == std::string::npos);

  // Receipts of the members stay among the members.
  CHECK(http.post_json("/messages/" + std::to_string(hidden) + "/receipts", {{"status", "read"}},
                       bearer(bob.token))
            .status == 201);
  int64_t second_marker = post_as(http, alice, "general", "second marker");
  REQUIRE(alice_live.wait_message_id(second_marker));
  REQUIRE(carol_live.wait_message_id(second_marker));
  CHECK(alice_live.count_events("receipt") == 1);
  CHECK(carol_live.count_events("receipt") == 0);

  // Every read path of message-service, as carol: 404 where the channel is named, absent where it
  // is not.
  auto as_carol = bearer(carol.token);
  std::string hidden_path = "/messages/" + std::to_string(hidden);
  for (const std::string& path :
       {std::string("/messages?channel=secret"), std::string("/log?channel=secret"),
        std::string("/messages?channel=general,secret"), hidden_path,
        std::string("/channels/secret/members")}) {
    auto refused = http.get(path, as_carol);
    CHECK_MESSAGE(refused.status == 404, path, " ", refused.describe());
    CHECK(refused.body.find("the plan") == std::string::npos);
  }
  auto all = http.get("/messages", as_carol);
  REQUIRE(all.status == 200);
  CHECK(all.body.find("the plan") == std::string::npos);
  auto log = http.get("/log", as_carol);
  REQUIRE(log.status == 200);
  CHECK(log.body.find("the plan") == std::string::npos);
  CHECK(log.body.find("\"receipt\"") == std::string::npos);
  auto carols_channels = http.get("/channels", as_carol);
  REQUIRE(carols_channels.status == 200);
  CHECK_FALSE(lists_channel(carols_channels, "secret"));
  CHECK(lists_channel(carols_channels, "general"));
  auto bobs_channels = http.get("/channels", bearer(bob.token));
  REQUIRE(lists_channel(bobs_channels, "secret"));
  // Every change, as carol: the same 404 a channel nobody created gets.
  auto posted =
      http.post_json("/messages", {{"content", "let me in"}, {"channel", "secret"}}, as_carol);
  CHECK(posted.status == 404);
  CHECK(posted.json()["error"] == "channel_not_found");
  CHECK(http.post_json("/typing", {{"channel", "secret"}}, as_carol).status == 404);
  CHECK(http.post_json(hidden_path + "/receipts", {{"status", "read"}}, as_carol).status == 404);
  CHECK(http.post_json("/channels/secret/members", {{"user", "carol"}}, as_carol).status == 404);
  CHECK(http.del("/channels/secret/members/bob", as_carol).status == 404);
  auto unknown = http.get("/channels/nothing-here/members", as_carol);
  CHECK(unknown.status == 404);
  CHECK(unknown.json()["error"] == http.get("/channels/secret/members", as_carol).json()["error"]);
  // notify-service: presence of the channel.
  CHECK(notify.get("/presence?channel=secret", as_carol).status == 404);
  CHECK(notify.get("/presence?channel=secret", bearer(bob.token)).status == 200);

  // Resuming from the start (the ring): the members get the message, carol does not.
  httplib::Headers carol_resume = as_carol;
  carol_resume.emplace("Last-Event-ID", "0");
  httplib::Headers bob_resume = bearer(bob.token);
  bob_resume.emplace("Last-Event-ID", "0");
  SseStream carol_again(relay.notify_port(), "/events", carol_resume);
  SseStream bob_again(relay.notify_port(), "/events", bob_resume);
  REQUIRE(carol_again.wait_message_id(second_marker));
  REQUIRE(bob_again.wait_message_id(second_marker));
  CHECK(compare_ids(carol_again.message_ids(), {marker, second_marker}) == "");
  CHECK(compare_ids(bob_again.message_ids(), {hidden, marker, second_marker}) == "");

  // Resuming through message-service's history (notify-service restarted: its ring is empty).
  carol_live.stop();
  carol_again.stop();
  relay.notify().stop();
  relay.start_notify();
  SseStream carol_history(relay.notify_port(), "/events", carol_resume);
  SseStream bob_history(relay.notify_port(), "/events", bob_resume);
  REQUIRE(bob_history.wait_message_id(second_marker));
  REQUIRE(carol_history.wait_message_id(second_marker));
  CHECK(compare_ids(bob_history.message_ids(), {hidden, marker, second_marker}) == "");
  CHECK(compare_ids(carol_history.message_ids(), {marker, second_marker}) == "");
  CHECK(carol_history.raw_prefix().find("the plan") == std::string::npos);
}

TEST_CASE("private channels: an added member's open stream starts and a removed one's stops") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  Account bob = register_account(http, "bob");
  Account dave = register_account(http, "dave");
  create_private(http, alice, "secret", {&bob});

  SseStream dave_live(relay.notify_port(), "/events", bearer(dave.token));
  SseStream bob_live(relay.notify_port(), "/events", bearer(bob.token));
  REQUIRE(dave_live.wait_connected());
  REQUIRE(bob_live.wait_connected());
  int64_t before = post_as(http, alice, "secret", "before dave");
  // Broadcast before dave is added: who may see an event is decided when it is delivered, so a
  // message still on its way when he joins would reach him (he may read it in history then too).
  REQUIRE(bob_live.wait_message_id(before));

  auto added = http.post_json("/channels/secret/members", {{"user", "dave"}}, bearer(alice.token));
  REQUIRE_MESSAGE(added.status == 201, added.describe());
  REQUIRE(
      dave_live.wait_until([&] { return has_membership(dave_live, "secret", "dave", "added"); }));
  REQUIRE(bob_live.wait_until([&] { return has_membership(bob_live, "secret", "dave", "added"); }));
  int64_t during = post_as(http, alice, "secret", "while dave is in");

  // Only the owner removes others; a member may leave; the owner may not.
  auto by_bob = http.del("/channels/secret/members/dave", bearer(bob.token));
  CHECK(by_bob.status == 403);
  CHECK(by_bob.json()["error"] == "forbidden");
  auto owner_leaves = http.del("/channels/secret/members/alice", bearer(alice.token));
  CHECK(owner_leaves.status == 409);
  CHECK(owner_leaves.json()["error"] == "owner_cannot_leave");
  auto removed = http.del("/channels/secret/members/dave", bearer(alice.token));
  REQUIRE_MESSAGE(removed.status == 200, removed.describe());
  CHECK(removed.json()["members"] == Json::array({"alice", "bob"}));
  REQUIRE(
      dave_live.wait_until([&] { return has_membership(dave_live, "secret", "dave", "removed"); }));
  int64_t after = post_as(http, alice, "secret", "after dave");
  int64_t marker = post_as(http, alice, "general", "marker");
  REQUIRE(dave_live.wait_message_id(marker));
  REQUIRE(bob_live.wait_message_id(marker));
  // The same connection all along: dave's stream has what was posted while he was a member only.
  CHECK(compare_ids(dave_live.message_ids(), {during, marker}) == "");
  CHECK(compare_ids(bob_live.message_ids(), {before, during, after, marker}) == "");
  CHECK(http.get("/messages?channel=secret", bearer(dave.token)).status == 404);

  // bob leaves by himself; his stream stops receiving the channel too.
  auto left = http.del("/channels/secret/members/bob", bearer(bob.token));
  REQUIRE_MESSAGE(left.status == 200, left.describe());
  REQUIRE(
      bob_live.wait_until([&] { return has_membership(bob_live, "secret", "bob", "removed"); }));
  int64_t last = post_as(http, alice, "secret", "alice alone");
  int64_t last_marker = post_as(http, alice, "general", "last marker");
  REQUIRE(bob_live.wait_message_id(last_marker));
  CHECK(compare_ids(bob_live.message_ids(), {before, during, after, marker, last_marker}) == "");
  auto history = http.get("/messages?channel=secret", bearer(alice.token));
  REQUIRE(history.status == 200);
  CHECK(history.json()["messages"].size() == 4);
  CHECK(history.body.find(std::to_string(last)) != std::string::npos);
}

TEST_CASE("private channels: a restarted notify-service serves nothing private before it knows") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  Account carol = register_account(http, "carol");
  create_private(http, alice, "secret", {});
  // notify-service restarts empty-handed: no table of private channels until message-service's
  // next batch is refused as stale and the table is sent first.
  relay.notify().stop();
  relay.start_notify();
  SseStream carol_live(relay.notify_port(), "/events", bearer(carol.token));
  SseStream alice_live(relay.notify_port(), "/events", bearer(alice.token));
  REQUIRE(carol_live.wait_connected());
  REQUIRE(alice_live.wait_connected());
  int64_t hidden = post_as(http, alice, "secret", "still secret");
  int64_t marker = post_as(http, alice, "general", "marker");
  REQUIRE(alice_live.wait_message_id(marker));
  REQUIRE(carol_live.wait_message_id(marker));
  CHECK(compare_ids(alice_live.message_ids(), {hidden, marker}) == "");
  CHECK(compare_ids(carol_live.message_ids(), {marker}) == "");
  // Once the table is there, carol cannot open a stream on the channel either.
  SseStream carol_follows(relay.notify_port(), "/events?channels=secret", bearer(carol.token));
  REQUIRE(carol_follows.wait_ended());
  CHECK(carol_follows.status() == 404);
}

TEST_CASE("private channels: hostile membership requests change nothing") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  auto notify = relay.notify_http();
  Account alice = register_account(http, "alice");
  auto as_alice = bearer(alice.token);
  for (const std::string& body :
       {std::string("{\"name\":\"bad name\",\"private\":true}"),
        std::string("{\"name\":\"x\",\"private\":\"yes\"}"), std::string("{\"private\":true}"),
        std::string("[]"), std::string("{\"name\":"), std::string("{\"name\":\"\xff\"}")}) {
    auto refused = http.post("/channels", body, "application/json", as_alice);
    CHECK_MESSAGE(refused.status == 400, body, " ", refused.describe());
  }
  CHECK(http.post("/channels", "{\"name\":\"x\"}", "text/plain", as_alice).status == 415);
  CHECK(http.post_json("/channels", {{"name", "x"}, {"private", true}}).status == 401);
  create_private(http, alice, "secret", {});
  for (const Json& body : {Json{{"user", ""}}, Json{{"user", 5}}, Json{{"who", "bob"}},
                           Json{{"user", std::string("a\x01")}}}) {
    CHECK(http.post_json("/channels/secret/members", body, as_alice).status == 400);
  }
  CHECK(http.del("/channels/secret/members/%01", as_alice).status == 400);
  // A channel that already has messages cannot be made private afterwards.
  int64_t public_id = post_as(http, alice, "public-one", "hello");
  auto taken = http.post_json("/channels", {{"name", "public-one"}, {"private", true}}, as_alice);
  CHECK(taken.status == 409);
  // notify-service's table is message-service's to set: not from a browser, not with junk.
  CHECK(notify.post("/notify/memberships", "{}", "application/json").status == 405);
  auto browser = notify.post("/notify", "[]", "application/json",
                             {{"Origin", "http://evil.example"}, {"Memberships-Version", "0"}});
  CHECK(browser.status == 403);
  // A batch made under another table version is refused, and changes nothing.
  REQUIRE(wait_notify_has(notify, public_id));  // forwarded: nothing else is on its way
  Json health_before = notify.get("/health").json();
  Json wire = wire_message(2, "stale", "secret", "alice");
  auto stale = notify.post("/notify", Json::array({wire}).dump(), "application/json",
                           {{"Memberships-Version", "999"}});
  CHECK(stale.status == 409);
  CHECK(stale.json()["error"] == "memberships_stale");
  CHECK(notify.get("/health").json()["last_event_id"] == health_before["last_event_id"]);
  CHECK(metric_value(notify.get("/metrics").body, "relay_notify_memberships_stale_total") == 1);
  auto bad_version =
      notify.post("/notify", "[]", "application/json", {{"Memberships-Version", "-1"}});
  CHECK(bad_version.status == 400);
  CHECK(bad_version.json()["error"] == "invalid_memberships_version");

  // PUT /notify/memberships: refused from a browser, as text, malformed or with a bad name; an
  // outsider still cannot follow the channel afterwards.
  httplib::Client raw("127.0.0.1", relay.notify_port());
  std::string grab = R"({"version":"1","channels":{}})";
  auto from_browser =
      raw.Put("/notify/memberships", {{"Origin", "http://evil.example"}}, grab, "application/json");
  REQUIRE(from_browser);
  CHECK(from_browser->status == 403);
  auto as_text = raw.Put("/notify/memberships", grab, "text/plain");
  REQUIRE(as_text);
  CHECK(as_text->status == 415);
  for (const std::string& body : {std::string("{\"version\":"), std::string("[]"),
                                  std::string(R"({"version":"1","channels":{"bad name":["a"]}})"),
                                  std::string(R"({"version":"1","channels":{"x":[]}})"),
                                  std::string("{\"version\":\"\xff\"}")}) {
    auto refused = raw.Put("/notify/memberships", body, "application/json");
    REQUIRE(refused);
    CHECK_MESSAGE(refused->status == 400, body);
  }
  Account carol = register_account(http, "carol");
  SseStream carol_follows(relay.notify_port(), "/events?channels=secret", bearer(carol.token));
  REQUIRE(carol_follows.wait_ended());
  CHECK(carol_follows.status() == 404);
  CHECK(http.get("/channels/secret/members", as_alice).json()["members"] == Json::array({"alice"}));
  CHECK(http.get("/channels/secret/members").status == 401);
  CHECK(http.get("/memberships", as_alice).status == 403);
}

TEST_CASE("private channels: open mode refuses them and keeps public channel creation") {
  Relay relay;
  auto http = relay.message_http();
  auto refused = http.post_json("/channels", {{"name", "secret"}, {"private", true}});
  CHECK(refused.status == 400);
  CHECK(refused.json()["error"] == "private_needs_accounts");
  auto created = http.post_json("/channels", {{"name", "lobby"}});
  REQUIRE_MESSAGE(created.status == 201, created.describe());
  CHECK(created.json()["private"] == false);
  auto listed = http.get("/channels");
  CHECK(lists_channel(listed, "lobby"));
  CHECK(http.post_json("/channels", {{"name", "lobby"}}).status == 409);
}

}  // namespace relay::itest
