// BROKER=redis against real processes: a real redis-server (tests/support/redis_server.h), one
// message-service and several notify-service instances on the same bus. Every instance gets every
// event once and in order; an instance that starts late or is killed fills its resume ring from
// the stream, so a client moving between instances with Last-Event-ID loses nothing and gets
// nothing twice; with Redis down posts are still stored and go out in order when it returns; a
// forwarder that resends puts nothing twice in the stream; private channels hold across
// instances. "Nothing twice" is proven with marker messages throughout.

#include <doctest/doctest.h>
#include <sqlite3.h>

#include "tests/integration/accounts_support.h"
#include "tests/integration/auth_modes.h"
#include "tests/integration/bus_support.h"

namespace relay::itest {

TEST_SUITE_BEGIN("redis");

TEST_CASE_TEMPLATE(
    "redis bus: every notify-service instance gets every message and typing notice, once and in "
    "order",
    Mode, OpenMode, AccountsMode) {
  Bus bus;
  ModeRelay relay(Mode{}, bus.options());
  auto second = start_instance(relay, "notify-service-2");
  auto third = start_instance(relay, "notify-service-3");
  INFO(relay.diagnostics() << second->diagnostics() << third->diagnostics());
  for (int port : {second->port(), third->port()}) wait_ready(port, relay.accounts());

  std::vector<std::unique_ptr<SseStream>> streams;
  for (int port : {relay.notify_port(), second->port(), third->port()}) {
    streams.push_back(std::make_unique<SseStream>(port, "/events", relay.as("watcher")));
  }
  for (auto& stream : streams) REQUIRE_MESSAGE(stream->wait_connected(), stream->describe());

  // With Redis as the bus nothing enters through POST /notify: it is not a route at all.
  HttpResponse notify = relay.notify_http().post(
      "/notify", R"({"id":"1","content":"x","user":"u","channel":"general"})", "application/json");
  CHECK(notify.status == 404);
  HttpClient alice = relay.message_as("alice");
  std::vector<int64_t> ids = post_many(alice, "m-", 40);
  auto typing = alice.post_json("/typing", {{"channel", "general"}, {"user", "alice"}});
  REQUIRE_MESSAGE(typing.status == 202, typing.describe());
  int64_t marker = post_marker(alice);
  for (auto& stream : streams) {
    REQUIRE_MESSAGE(stream->wait_message_id(marker), stream->describe());
    CHECK(compare_ids(stream->message_ids(), with(ids, marker)) == "");
    CHECK_MESSAGE(stream->wait_until([&] { return stream->count_events("typing") == 1; }),
                  stream->describe());
    CHECK(stream->problems().empty());
  }
  CHECK(compare_ids(stream_ids(bus.redis), with(ids, marker)) == "");
}

TEST_CASE_TEMPLATE(
    "redis bus: a client moving to an instance that started later, or was killed, resumes from "
    "the ring it filled from Redis: nothing lost, nothing twice",
    Mode, OpenMode, AccountsMode) {
  Bus bus;
  ModeRelay relay(Mode{}, bus.options());
  INFO(relay.diagnostics());
  HttpClient alice = relay.message_as("alice");
  std::vector<int64_t> ids = post_many(alice, "early-", 10);
  REQUIRE(wait_notify_has(relay.notify_http(), ids.back()));

  // An instance started after the posts: it has them from the stream, not from history.
  auto late = start_instance(relay, "notify-service-late");
  INFO(late->diagnostics());
  wait_ready(late->port(), relay.accounts());
  SseStream moved(late->port(), "/events",
                  relay.as("watcher", {{"Last-Event-ID", std::to_string(ids[4])}}));
  REQUIRE_MESSAGE(moved.wait_connected(), moved.describe());
  CHECK(resume_of(moved) == "ring");
  int64_t marker = post_marker(alice);
  REQUIRE_MESSAGE(moved.wait_message_id(marker), moved.describe());
  CHECK(compare_ids(moved.message_ids(),
                    with(std::vector<int64_t>(ids.begin() + 5, ids.end()), marker)) == "");

  // kill -9 that instance; what is posted meanwhile is in the stream when it comes back.
  late->kill9();
  moved.stop();
  std::vector<int64_t> while_down = post_many(alice, "down-", 5);
  REQUIRE(late->start());
  wait_ready(late->port(), relay.accounts());
  SseStream back(late->port(), "/events",
                 relay.as("watcher", {{"Last-Event-ID", std::to_string(marker)}}));
  REQUIRE_MESSAGE(back.wait_connected(), back.describe());
  CHECK(resume_of(back) == "ring");
  int64_t second_marker = post_marker(alice);
  REQUIRE_MESSAGE(back.wait_message_id(second_marker), back.describe());
  CHECK(compare_ids(back.message_ids(), with(while_down, second_marker)) == "");
}

TEST_CASE(
    "redis bus: with Redis down posts are stored (201) and /health says degraded with the "
    "backlog, and when it returns every message goes out in order and the instances reconnect") {
  Bus bus;
  Relay relay(bus.options());
  auto second = start_instance(relay, "notify-service-2");
  INFO(relay.diagnostics() << second->diagnostics() << bus.redis.diagnostics());
  wait_ready(second->port(), false);
  SseStream first_stream(relay.notify_port(), "/events");
  SseStream second_stream(second->port(), "/events");
  REQUIRE(first_stream.wait_connected());
  REQUIRE(second_stream.wait_connected());
  HttpClient http = relay.message_http();
  std::vector<int64_t> ids = post_many(http, "before-", 3);
  REQUIRE(first_stream.wait_message_id(ids.back()));

  bus.redis.kill9();
  std::vector<int64_t> stored = post_many(http, "while-down-", 5);  // each REQUIREs a 201
  ids.insert(ids.end(), stored.begin(), stored.end());
  HttpClient message_health = relay.message_http();
  // The backlog is the five posted while down, plus the last batch before the kill when Redis
  // stored it (a stream saw it) but died before its answer reached the forwarder: that batch is
  // sent again, and the stream refuses its ids as already there.
  bool degraded = eventually([&] {
    Json body = message_health.get("/health").json();
    int64_t backlog = body.value("forward_backlog", int64_t{0});
    return body.value("status", "") == "degraded" && backlog >= 5 && backlog <= 8 &&
           body.value("redis_reachable", true) == false;
  });
  CHECK_MESSAGE(degraded, message_health.get("/health").describe());
  for (int port : {relay.notify_port(), second->port()}) {
    HttpClient notify(port);
    bool noticed = eventually([&] {
      Json body = notify.get("/health").json();
      return body.value("status", "") == "degraded" && body.value("redis_connected", true) == false;
    });
    CHECK_MESSAGE(noticed, notify.get("/health").describe());
  }
  CHECK(first_stream.message_ids().size() == 3);

  REQUIRE_MESSAGE(bus.redis.start(), bus.redis.diagnostics());  // same port, same data
  int64_t marker = post_marker(http);
  for (SseStream* stream : {&first_stream, &second_stream}) {
    REQUIRE_MESSAGE(stream->wait_message_id(marker), stream->describe());
    CHECK(compare_ids(stream->message_ids(), with(ids, marker)) == "");
  }
  CHECK(eventually([&] {
    Json body = message_health.get("/health").json();
    return body.value("status", "") == "ok" && body.value("forward_backlog", -1) == 0;
  }));
  CHECK(compare_ids(stream_ids(bus.redis), with(ids, marker)) == "");
}

TEST_CASE(
    "redis bus: a forwarder that sends everything again (its cursor lost) puts nothing twice in "
    "the stream or on a stream") {
  Bus bus;
  Relay relay(bus.options());
  INFO(relay.diagnostics());
  SseStream live(relay.notify_port(), "/events");
  REQUIRE(live.wait_connected());
  HttpClient http = relay.message_http();
  std::vector<int64_t> ids = post_many(http, "m-", 20);
  REQUIRE(live.wait_message_id(ids.back()));

  // Stopped, its forward cursor set back to 0 in the store, started again: it resends all 20.
  relay.message().stop();
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((relay.data_dir() + "/messages.db").c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db, "UPDATE forward_state SET forwarded_upto = 0", nullptr, nullptr,
                     nullptr) == SQLITE_OK);
  sqlite3_close(db);
  relay.start_message();
  int64_t marker = post_marker(http);
  REQUIRE_MESSAGE(live.wait_message_id(marker), live.describe());
  CHECK(compare_ids(live.message_ids(), with(ids, marker)) == "");
  CHECK(compare_ids(stream_ids(bus.redis), with(ids, marker)) == "");
  HttpClient message_health = relay.message_http();
  CHECK(eventually(
      [&] { return message_health.get("/health").json().value("forward_backlog", -1) == 0; }));
}

TEST_CASE(
    "redis bus: a private channel reaches its members only, on every instance, and a removed "
    "member's stream on another instance stops at once") {
  Bus bus;
  Relay relay(bus.options(accounts_options()));
  auto second = start_instance(relay, "notify-service-2");
  INFO(relay.diagnostics() << second->diagnostics());
  wait_ready(second->port(), true);
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  Account bob = register_account(http, "bob");
  Account carol = register_account(http, "carol");
  create_private(http, alice, "secret", {&bob});

  // bob and carol on the second instance, which learns the table through Redis only.
  SseStream bob_live(second->port(), "/events", bearer(bob.token));
  SseStream carol_live(second->port(), "/events", bearer(carol.token));
  REQUIRE(bob_live.wait_connected());
  REQUIRE(carol_live.wait_connected());
  auto post = [&](const std::string& channel, const std::string& content) {
    return id_of(
        post_message(http, {{"content", content}, {"channel", channel}}, bearer(alice.token)));
  };
  int64_t secret = post("secret", "for members");
  int64_t marker = post("general", "marker");
  REQUIRE(bob_live.wait_message_id(marker));
  REQUIRE(carol_live.wait_message_id(marker));
  CHECK(compare_ids(bob_live.message_ids(), {secret, marker}) == "");
  CHECK(compare_ids(carol_live.message_ids(), {marker}) == "");

  auto removed = http.del("/channels/secret/members/bob", bearer(alice.token));
  REQUIRE_MESSAGE(removed.status == 200, removed.describe());
  REQUIRE(bob_live.wait_until([&] {
    for (const auto& event : bob_live.events()) {
      if (event.event == "membership" && event.data.find("\"removed\"") != std::string::npos) {
        return true;
      }
    }
    return false;
  }));
  int64_t after = post("secret", "after bob left");
  int64_t last_marker = post("general", "last marker");
  REQUIRE(bob_live.wait_message_id(last_marker));
  REQUIRE(carol_live.wait_message_id(last_marker));
  CHECK(compare_ids(bob_live.message_ids(), {secret, marker, last_marker}) == "");
  CHECK(compare_ids(carol_live.message_ids(), {marker, last_marker}) == "");
  CHECK(after > marker);
}

TEST_CASE(
    "redis bus: a stream ticket opens one stream in the whole cluster, and none while Redis cannot "
    "say") {
  Bus bus;
  Relay relay(bus.options(accounts_options()));
  auto second = start_instance(relay, "notify-service-2");
  INFO(relay.diagnostics() << second->diagnostics());
  wait_ready(second->port(), true);
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  auto issue = [&] {
    auto issued = http.post("/auth/stream-ticket", "", "application/json", bearer(alice.token));
    REQUIRE_MESSAGE(issued.status == 201, issued.describe());
    return issued.json()["ticket"].get<std::string>();
  };
  std::string ticket = issue();
  SseStream first(relay.notify_port(), "/events?ticket=" + ticket);
  REQUIRE_MESSAGE(first.wait_connected(), first.describe());
  SseStream again(second->port(), "/events?ticket=" + ticket);
  REQUIRE(again.wait_ended());
  CHECK(again.status() == 401);
  CHECK(again.body().find("used already") != std::string::npos);

  bus.redis.kill9();
  SseStream unchecked(second->port(), "/events?ticket=" + issue());
  REQUIRE(unchecked.wait_ended());
  CHECK(unchecked.status() == 503);
  CHECK(unchecked.body().find("ticket_check_unavailable") != std::string::npos);
}

namespace {

/// The presence events (`state` "join" / "leave") a stream received for `user`.
std::vector<std::string> presence_of(const SseStream& stream, const std::string& user) {
  std::vector<std::string> states;
  for (const auto& event : stream.events()) {
    if (event.event != "presence") continue;
    Json data = Json::parse(event.data, nullptr, false);
    if (data.value("user", "") == user) states.push_back(data.value("state", ""));
  }
  return states;
}

Json present_users(int port) {
  return HttpClient(port).get("/presence").json()["users"];
}

}  // namespace

TEST_CASE(
    "redis bus: GET /presence on any instance lists the users streaming on any, and a user leaves "
    "only when their last stream on any instance closed") {
  Bus bus;
  RelayOptions options;
  options.notify_env["PRESENCE_GRACE_MS"] = "300";
  Relay relay(bus.options(options));
  auto second = start_instance(relay, "notify-service-2");
  INFO(relay.diagnostics() << second->diagnostics());
  wait_ready(second->port(), false);
  const int a = relay.notify_port();
  const int b = second->port();

  SseStream watcher(a, "/events");
  REQUIRE(watcher.wait_connected());
  auto alice_on_a = std::make_unique<SseStream>(a, "/events?user=alice");
  SseStream bob_on_b(b, "/events?user=bob");
  REQUIRE(alice_on_a->wait_connected());
  REQUIRE(bob_on_b.wait_connected());
  const Json both = Json::array({"alice", "bob"});
  CHECK(eventually([&] { return present_users(a) == both && present_users(b) == both; }));
  REQUIRE(watcher.wait_until([&] {
    return presence_of(watcher, "alice") == std::vector<std::string>{"join"} &&
           presence_of(watcher, "bob") == std::vector<std::string>{"join"};
  }));

  // alice moves from instance a to b: a says she left it (after its grace period), and still
  // nobody hears a leave, because she is on b.
  auto alice_on_b = std::make_unique<SseStream>(b, "/events?user=alice");
  REQUIRE(alice_on_b->wait_connected());
  std::string a_instance = HttpClient(a).get("/health").json().value("instance", "");
  REQUIRE(!a_instance.empty());
  auto a_has_alice = [&] {
    auto members = bus.redis.command({"SMEMBERS", "relay:presence:" + a_instance});
    if (!members) return true;
    for (const auto& member : members->elements) {
      if (member.text.rfind("alice\n", 0) == 0) return true;
    }
    return false;
  };
  REQUIRE(a_has_alice());
  alice_on_a->stop();
  REQUIRE(eventually([&] { return !a_has_alice(); }));
  CHECK(present_users(a) == both);
  CHECK(present_users(b) == both);

  // Her last stream closes: one leave, after the grace period, seen on every instance.
  alice_on_b->stop();
  REQUIRE(watcher.wait_until([&] {
    return presence_of(watcher, "alice") == std::vector<std::string>{"join", "leave"};
  }));
  CHECK(eventually([&] {
    return present_users(a) == Json::array({"bob"}) && present_users(b) == Json::array({"bob"});
  }));
  CHECK(presence_of(watcher, "bob") == std::vector<std::string>{"join"});
}

TEST_CASE(
    "redis bus: the users of a notify-service killed with -9 leave the other instances' presence "
    "when its entry in Redis expires") {
  Bus bus;
  RelayOptions options;
  options.notify_env["PRESENCE_GRACE_MS"] = "300";
  Relay relay(bus.options(options));
  auto second = start_instance(relay, "notify-service-2");
  INFO(relay.diagnostics() << second->diagnostics());
  wait_ready(second->port(), false);
  SseStream watcher(relay.notify_port(), "/events");
  REQUIRE(watcher.wait_connected());
  SseStream carol(second->port(), "/events?user=carol");
  REQUIRE(carol.wait_connected());
  REQUIRE(eventually([&] { return present_users(relay.notify_port()) == Json::array({"carol"}); }));
  second->kill9();
  REQUIRE(watcher.wait_until([&] {
    return presence_of(watcher, "carol") == std::vector<std::string>{"join", "leave"};
  }));
  CHECK(present_users(relay.notify_port()) == Json::array());
}

TEST_SUITE_END();

}  // namespace relay::itest
