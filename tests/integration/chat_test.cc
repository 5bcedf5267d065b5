// The chat features on the real services: receipts (stored, idempotent, forward-only, broadcast
// with ids and replayed on resume), typing (transient, rate-limited), presence (join / leave with a
// reconnect grace period, GET /presence) and direct-conversation history (?with=).
#include <doctest/doctest.h>

#include "tests/integration/auth_modes.h"
#include "tests/integration/harness.h"

namespace relay::itest {
namespace {

HttpResponse post_receipt(const HttpClient& http, int64_t message_id, const Json& body) {
  return http.post_json("/messages/" + std::to_string(message_id) + "/receipts", body);
}

// The parsed data of every event of `type` a stream received, in order.
std::vector<Json> events_of(const SseStream& stream, const std::string& type) {
  std::vector<Json> out;
  for (const auto& event : stream.events()) {
    if (event.event == type) out.push_back(Json::parse(event.data, nullptr, false));
  }
  return out;
}

// The ids of every event with an id (messages and receipts), in arrival order.
std::vector<int64_t> event_ids(const SseStream& stream) {
  std::vector<int64_t> ids;
  for (const auto& event : stream.events()) {
    if (event.has_id) ids.push_back(std::stoll(event.id));
  }
  return ids;
}

bool has_presence(const SseStream& stream, const std::string& user, const std::string& state) {
  for (const auto& data : events_of(stream, "presence")) {
    if (data["user"] == user && data["state"] == state) return true;
  }
  return false;
}

Json presence_users(const HttpClient& notify, const std::string& query) {
  HttpResponse answer = notify.get("/presence" + query);
  REQUIRE_MESSAGE(answer.status == 200, answer.describe());
  return answer.json()["users"];
}

}  // namespace

TEST_SUITE_BEGIN("integration");

TEST_CASE_TEMPLATE("receipts: stored once, forward only, shown in history and broadcast with ids",
                   Mode, OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("alice");
  HttpClient as_bob = relay.message_as("bob");
  HttpClient as_carol = relay.message_as("carol");
  SseStream alice(relay.notify_port(), "/events?channels=general&user=alice", relay.as("alice"));
  REQUIRE(alice.wait_connected());

  int64_t id = id_of(post_message(http, {{"content", "hello"}, {"user", "alice"}}));
  HttpResponse delivered = post_receipt(as_bob, id, {{"user", "bob"}, {"status", "delivered"}});
  REQUIRE_MESSAGE(delivered.status == 201, delivered.describe());
  CHECK(delivered.json()["changed"] == true);
  CHECK(delivered.json()["status"] == "delivered");
  const int64_t delivered_event = id_of(delivered.json());
  CHECK(delivered_event > id);  // receipts take ids from the message sequence

  // Repeating it, or going back, changes nothing.
  HttpResponse again = post_receipt(as_bob, id, {{"user", "bob"}, {"status", "delivered"}});
  CHECK(again.status == 200);
  CHECK(again.json()["changed"] == false);
  HttpResponse read = post_receipt(as_bob, id, {{"user", "bob"}, {"status", "read"}});
  REQUIRE(read.status == 201);
  HttpResponse back = post_receipt(as_bob, id, {{"user", "bob"}, {"status", "delivered"}});
  CHECK(back.status == 200);
  CHECK(back.json()["status"] == "read");
  CHECK(back.json()["id"] == read.json()["id"]);
  HttpResponse carol = post_receipt(as_carol, id, {{"user", "carol"}, {"status", "delivered"}});
  REQUIRE(carol.status == 201);

  int64_t next = id_of(post_message(http, {{"content", "after"}, {"user", "alice"}}));
  CHECK(next > id_of(carol.json()));

  HttpResponse one = http.get("/messages/" + std::to_string(id));
  REQUIRE(one.status == 200);
  CHECK(one.json()["status"] == "read");
  Json receipts = one.json()["receipts"];
  REQUIRE_MESSAGE(receipts.size() == 2, one.describe());
  CHECK(receipts[0]["user"] == "bob");
  CHECK(receipts[0]["status"] == "read");
  CHECK(receipts[1]["user"] == "carol");
  CHECK(receipts[1]["status"] == "delivered");
  Json listed = http.get("/messages?channel=general").json()["messages"];
  REQUIRE(listed.size() == 2);
  CHECK(listed[0]["receipts"] == receipts);
  CHECK(listed[1]["status"] == "sent");
  CHECK(listed[1]["receipts"] == Json::array());

  // The stream got the message, the receipt events (the repeats made none) and the next one, in
  // id order. bob's delivered may be skipped: when read replaced it before the forwarder sent it,
  // the log holds only the newer status (status only moves forward; the latest is what counts).
  REQUIRE_MESSAGE(alice.wait_message_id(next), alice.describe());
  std::vector<Json> seen = events_of(alice, "receipt");
  std::vector<int64_t> expected = {id, delivered_event, id_of(read.json()), id_of(carol.json()),
                                   next};
  if (seen.size() == 2) expected.erase(expected.begin() + 1);
  REQUIRE_MESSAGE((seen.size() == 2 || seen.size() == 3), alice.describe());
  CHECK(seen[0]["message_id"] == std::to_string(id));
  if (seen.size() == 3) CHECK(seen[0]["status"] == "delivered");
  CHECK(seen[seen.size() - 2]["user"] == "bob");
  CHECK(seen[seen.size() - 2]["status"] == "read");
  CHECK(seen.back()["user"] == "carol");
  CHECK(compare_ids(event_ids(alice), expected) == "");

  // Durable: still there after a restart of message-service.
  relay.message().stop();
  relay.start_message();
  HttpResponse after_restart = http.get("/messages/" + std::to_string(id));
  CHECK(after_restart.json()["receipts"] == receipts);
}

TEST_CASE("receipts: bad input gets a clear error and stores nothing") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  int64_t id = id_of(post_message(http, {{"content", "hello"}, {"user", "alice"}}));
  int64_t dm = id_of(post_message(http, {{"content", "psst"}, {"user", "alice"}, {"to", "bob"}}));

  struct Case {
    int64_t message;
    Json body;
    int status;
    const char* error;
  };
  const Case cases[] = {
      {id, {{"status", "read"}}, 400, "missing_user"},
      {id, {{"user", ""}, {"status", "read"}}, 400, "invalid_user"},
      {id, {{"user", "bob"}}, 400, "invalid_status"},
      {id, {{"user", "bob"}, {"status", "seen"}}, 400, "invalid_status"},
      {id, {{"user", "bob"}, {"status", 2}}, 400, "invalid_status"},
      {id, {{"user", "alice"}, {"status", "read"}}, 400, "own_message"},
      {id + 100, {{"user", "bob"}, {"status", "read"}}, 404, "message_not_found"},
      {dm, {{"user", "carol"}, {"status", "read"}}, 404, "message_not_found"},
  };
  for (const auto& c : cases) {
    HttpResponse answer = post_receipt(http, c.message, c.body);
    CHECK_MESSAGE(answer.status == c.status, (c.body.dump() + " -> " + answer.describe()));
    CHECK_MESSAGE(answer.json()["error"] == c.error, answer.describe());
  }
  HttpResponse not_json = http.post("/messages/" + std::to_string(id) + "/receipts",
                                    "user=bob&status=read", "application/x-www-form-urlencoded");
  CHECK(not_json.status == 415);
  HttpResponse broken =
      http.post("/messages/" + std::to_string(id) + "/receipts", "{\"user\":", "application/json");
  CHECK(broken.status == 400);
  CHECK(broken.json()["error"] == "invalid_json");

  CHECK(http.get("/messages/" + std::to_string(id)).json()["receipts"] == Json::array());
  CHECK(http.get("/messages/" + std::to_string(dm) + "?user=bob").json()["receipts"] ==
        Json::array());
  // The DM's recipient may acknowledge it; the receipt reaches both parties only.
  SseStream carol(relay.notify_port(), "/events?user=carol");
  SseStream alice(relay.notify_port(), "/events?user=alice");
  REQUIRE(carol.wait_connected());
  REQUIRE(alice.wait_connected());
  HttpResponse ok = post_receipt(http, dm, {{"user", "bob"}, {"status", "read"}});
  REQUIRE(ok.status == 201);
  REQUIRE_MESSAGE(alice.wait_until([&] { return alice.count_events("receipt") == 1; }),
                  alice.describe());
  Json receipt = events_of(alice, "receipt")[0];
  CHECK(receipt["to"] == "alice");
  CHECK(receipt["user"] == "bob");
  int64_t marker = id_of(post_message(http, {{"content", "marker"}, {"user", "x"}}));
  REQUIRE(carol.wait_message_id(marker));
  CHECK(carol.count_events("receipt") == 0);
}

TEST_CASE_TEMPLATE("receipts: a resuming stream gets them replayed from the ring and from history",
                   Mode, OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("alice");
  int64_t first = id_of(post_message(http, {{"content", "one"}, {"user", "alice"}}));
  HttpResponse receipt =
      post_receipt(relay.message_as("bob"), first, {{"user", "bob"}, {"status", "read"}});
  REQUIRE(receipt.status == 201);
  int64_t last = id_of(post_message(http, {{"content", "two"}, {"user", "alice"}}));
  REQUIRE(wait_notify_has(relay.notify_http(), last));
  const std::vector<int64_t> expected = {id_of(receipt.json()), last};

  SseStream from_ring(relay.notify_port(), "/events?channels=general",
                      relay.as("", {{"Last-Event-ID", std::to_string(first)}}));
  REQUIRE(from_ring.wait_connected());
  REQUIRE_MESSAGE(from_ring.wait_message_id(last), from_ring.describe());
  CHECK(compare_ids(event_ids(from_ring), expected) == "");

  // A fresh notify-service has an empty ring: the same resume comes from message-service's log.
  relay.notify().stop();
  relay.start_notify();
  SseStream from_history(relay.notify_port(), "/events?channels=general",
                         relay.as("", {{"Last-Event-ID", std::to_string(first)}}));
  REQUIRE(from_history.wait_connected());
  REQUIRE_MESSAGE(from_history.wait_message_id(last), from_history.describe());
  CHECK(compare_ids(event_ids(from_history), expected) == "");
  CHECK(events_of(from_history, "receipt").at(0)["status"] == "read");

  // The log itself: messages and receipts in one id order, filtered like a stream.
  Json log = http.get("/log?after=0&channel=general").json()["events"];
  REQUIRE(log.size() == 3);
  CHECK(log[0]["type"] == "message");
  CHECK(log[1]["type"] == "receipt");
  CHECK(log[2]["type"] == "message");
  CHECK(http.get("/log?channel=other").json()["events"] == Json::array());
}

TEST_CASE_TEMPLATE(
    "typing: reaches the channel's or the DM partner's streams, without an id, never stored", Mode,
    OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("alice");
  SseStream general(relay.notify_port(), "/events?channels=general&user=carol", relay.as("carol"));
  SseStream other(relay.notify_port(), "/events?channels=other", relay.as());
  SseStream bob(relay.notify_port(), "/events?channels=none&user=bob", relay.as("bob"));
  for (SseStream* stream : {&general, &other, &bob}) REQUIRE(stream->wait_connected());

  HttpResponse channel = http.post_json("/typing", {{"user", "alice"}, {"channel", "general"}});
  REQUIRE_MESSAGE(channel.status == 202, channel.describe());
  HttpResponse direct = http.post_json("/typing", {{"user", "alice"}, {"to", "bob"}});
  REQUIRE(direct.status == 202);
  REQUIRE_MESSAGE(general.wait_until([&] { return general.count_events("typing") == 1; }),
                  general.describe());
  REQUIRE_MESSAGE(bob.wait_until([&] { return bob.count_events("typing") == 1; }), bob.describe());
  Json seen = events_of(general, "typing")[0];
  CHECK(seen["user"] == "alice");
  CHECK(seen["channel"] == "general");
  CHECK(events_of(bob, "typing")[0]["to"] == "bob");
  for (const auto& event : general.events()) {
    if (event.event == "typing") CHECK_FALSE(event.has_id);
  }

  // A message afterwards reaches everyone; by then no stray typing arrived where it should not.
  post_message(http, {{"content", "m"}, {"channel", "other"}});
  int64_t marker = id_of(post_message(http, {{"content", "m"}, {"channel", "none"}}));
  REQUIRE(bob.wait_message_id(marker));
  REQUIRE(other.wait_messages(1));
  CHECK(other.count_events("typing") == 0);
  CHECK(general.count_events("typing") == 1);
  CHECK(http.get("/log").json()["events"].size() == 2);  // only the two messages

  // Errors: clear JSON, nothing sent.
  struct Case {
    Json body;
    const char* error;
  };
  std::vector<Case> cases = {
      {{{"user", "alice"}, {"channel", "no spaces"}}, "invalid_channel"},
      {{{"user", "alice"}, {"to", ""}}, "invalid_to"},
      {{{"user", "alice"}, {"to", "bob"}, {"channel", "general"}}, "invalid_to"},
  };
  // Who is typing: open mode needs a valid `user`; in accounts mode it is the caller, and
  // another name is not theirs to type as.
  if (!relay.accounts()) {
    cases.push_back({{{"channel", "general"}}, "missing_user"});
    cases.push_back({{{"user", "a\nb"}}, "invalid_user"});
  }
  for (const auto& c : cases) {
    HttpResponse answer = http.post_json("/typing", c.body);
    CHECK_MESSAGE(answer.status == 400, (c.body.dump() + " -> " + answer.describe()));
    CHECK_MESSAGE(answer.json()["error"] == c.error, answer.describe());
  }
  if (relay.accounts()) {
    HttpResponse as_bob = http.post_json("/typing", {{"user", "bob"}, {"channel", "general"}});
    CHECK_MESSAGE(as_bob.status == 403, as_bob.describe());
    CHECK(as_bob.json()["error"] == "forbidden");
  }
  CHECK(http.post("/typing", "{}", "text/plain").status == 415);
}

TEST_CASE("typing: more than 5 a second per user get 429, notify-service down gets 503") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  int accepted = 0;
  int limited = 0;
  for (int i = 0; i < 12; ++i) {
    HttpResponse answer = http.post_json("/typing", {{"user", "speedy"}});
    if (answer.status == 202) ++accepted;
    if (answer.status == 429) {
      ++limited;
      CHECK(answer.json()["error"] == "rate_limited");
      CHECK(answer.header("Retry-After") == "1");
    }
  }
  // Twelve posts take far less than the second in which the bucket (5) would refill 5 more.
  CHECK(accepted >= 5);
  CHECK(accepted < 12);
  CHECK(accepted + limited == 12);
  // Other users have buckets of their own.
  CHECK(http.post_json("/typing", {{"user", "calm"}}).status == 202);

  relay.notify().stop();
  HttpResponse down = http.post_json("/typing", {{"user", "calm"}});
  CHECK(down.status == 503);
  CHECK(down.json()["error"] == "notify_unavailable");
}

TEST_CASE_TEMPLATE("presence: join when the first stream opens, no leave for a quick reconnect",
                   Mode, OpenMode, AccountsMode, SharedStoreMode) {
  RelayOptions options;
  options.notify_env["PRESENCE_GRACE_MS"] = "4000";
  ModeRelay relay(Mode{}, options);
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_as("watcher");
  SseStream watcher(relay.notify_port(), "/events?channels=general&user=watcher",
                    relay.as("watcher"));
  REQUIRE(watcher.wait_connected());

  auto alice =
      std::make_unique<SseStream>(relay.notify_port(), "/events?user=alice", relay.as("alice"));
  REQUIRE(alice->wait_connected());
  REQUIRE_MESSAGE(watcher.wait_until([&] { return has_presence(watcher, "alice", "join"); }),
                  watcher.describe());
  auto dev = std::make_unique<SseStream>(relay.notify_port(), "/events?channels=dev&user=dave",
                                         relay.as("dave"));
  REQUIRE(dev->wait_connected());
  CHECK(presence_users(notify, "?channel=general") == Json{"alice", "watcher"});
  CHECK(presence_users(notify, "?channel=dev") == Json{"alice", "dave"});
  CHECK(presence_users(notify, "") == Json{"alice", "dave", "watcher"});

  // A reconnect within the grace period is neither a leave nor a join.
  alice->stop();
  alice = std::make_unique<SseStream>(relay.notify_port(), "/events?user=alice", relay.as("alice"));
  REQUIRE(alice->wait_connected());
  int64_t marker = id_of(post_message(relay.message_as("alice"), {{"content", "m"}}));
  REQUIRE(watcher.wait_message_id(marker));
  size_t joins = 0;
  for (const auto& data : events_of(watcher, "presence")) {
    CHECK(data["state"] != "leave");
    if (data["user"] == "alice") ++joins;
  }
  CHECK(joins == 1);
  CHECK(watcher.count_events("presence") >= 1);
  // dave follows only dev: the general watcher never hears of him.
  CHECK_FALSE(has_presence(watcher, "dave", "join"));
  CHECK(notify.get("/presence?channel=bad%20name").status == 400);
}

TEST_CASE("presence: leave once the last stream closed and the grace period passed") {
  RelayOptions options;
  options.notify_env["PRESENCE_GRACE_MS"] = "200";
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_http();
  SseStream watcher(relay.notify_port(), "/events?user=watcher");
  REQUIRE(watcher.wait_connected());
  {
    SseStream first(relay.notify_port(), "/events?channels=general&user=alice");
    SseStream second(relay.notify_port(), "/events?channels=general&user=alice");
    REQUIRE(first.wait_connected());
    REQUIRE(second.wait_connected());
    REQUIRE(watcher.wait_until([&] { return has_presence(watcher, "alice", "join"); }));
    first.stop();
    CHECK(presence_users(notify, "?channel=general") == Json{"alice", "watcher"});
  }
  REQUIRE_MESSAGE(watcher.wait_until([&] { return has_presence(watcher, "alice", "leave"); }),
                  watcher.describe());
  CHECK(presence_users(notify, "?channel=general") == Json{"watcher"});
  size_t leaves = 0;
  for (const auto& data : events_of(watcher, "presence")) {
    if (data["user"] == "alice" && data["state"] == "leave") ++leaves;
    if (data["user"] == "alice") CHECK(data["channel"] == "general");
  }
  CHECK(leaves == 1);
}

TEST_CASE_TEMPLATE("history: ?with= lists only the direct messages between two users", Mode,
                   OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("alice");
  HttpClient bob = relay.message_as("bob");
  post_message(http, {{"content", "public"}, {"user", "alice"}});
  int64_t a = id_of(post_message(http, {{"content", "a->b"}, {"user", "alice"}, {"to", "bob"}}));
  post_message(http, {{"content", "a->c"}, {"user", "alice"}, {"to", "carol"}});
  int64_t b = id_of(post_message(bob, {{"content", "b->a"}, {"user", "bob"}, {"to", "alice"}}));

  for (auto [query, caller] : {std::pair{"/messages?user=alice&with=bob", &http},
                               std::pair{"/messages?user=bob&with=alice", &bob}}) {
    Json listed = caller->get(query).json()["messages"];
    REQUIRE_MESSAGE(listed.size() == 2, listed.dump());
    CHECK(id_of(listed[0]) == a);
    CHECK(id_of(listed[1]) == b);
  }
  CHECK(http.get("/messages?user=alice&with=bob&after=" + std::to_string(a))
            .json()["messages"]
            .size() == 1);
  // Whose conversation: open mode needs ?user=; in accounts mode it is the caller's.
  HttpResponse no_user = http.get("/messages?with=bob");
  if (relay.accounts()) {
    CHECK_MESSAGE(no_user.status == 200, no_user.describe());
    CHECK(no_user.json()["messages"].size() == 2);
  } else {
    CHECK(no_user.status == 400);
    CHECK(no_user.json()["error"] == "invalid_with");
  }
  CHECK(http.get("/messages?user=alice&with=").status == 400);
}

TEST_SUITE_END();

}  // namespace relay::itest
