// STORE=postgres: several message-service instances on one real PostgreSQL 15, forwarding through
// a real Redis stream. The hazards of a shared store, tried for real: concurrent posters on both
// instances against a reader polling `after=`, the forwarding lease's failover on kill -9, and
// PostgreSQL itself killed and brought back. "Nothing twice" is proven with markers.

#include <atomic>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "tests/integration/accounts_support.h"
#include "tests/integration/bus_support.h"
#include "tests/support/nginx_server.h"
#include "tests/support/postgres_server.h"

namespace relay::itest {

namespace {

Json health_of(int port) {
  return HttpClient(port, 5s).get("/health").json();
}

/// Redis, PostgreSQL, one Relay pair with STORE=postgres, and a second message-service instance
/// on the same database and bus (its own DATA_DIR and port), started once the first holds the
/// forwarding lease: the first is the leader.
struct SharedStore {
  Bus bus;
  PostgresServer postgres{bus.dir.subdir("postgres")};
  std::unique_ptr<Relay> relay;
  std::unique_ptr<ServiceProcess> second;

  /// `accounts`: both services in AUTH_MODE=accounts with one AUTH_SECRET.
  explicit SharedStore(RelayOptions options = {}, bool accounts = false) {
    REQUIRE_MESSAGE(postgres.start(), postgres.diagnostics());
    if (accounts) {
      RelayOptions signed_in = accounts_options(options.message_env, options.notify_env);
      options.message_env = signed_in.message_env;
      options.notify_env = signed_in.notify_env;
    }
    options.message_env["STORE"] = "postgres";
    options.message_env["DATABASE_URL"] = postgres.url();
    relay = std::make_unique<Relay>(bus.options(options));
    wait_ready(relay->notify_port(), accounts);
    int first = relay->message_port();
    REQUIRE(eventually([&] { return health_of(first).value("forwarding_role", "") == "leader"; }));
    Environment env = relay->message().env();
    env["PORT"] = "0";
    env["DATA_DIR"] = bus.dir.subdir("message-2");
    second = std::make_unique<ServiceProcess>("message-service-2", message_service_binary(), env);
    REQUIRE_MESSAGE(second->start(), second->diagnostics());
  }

  std::string diagnostics() const {
    return relay->diagnostics() + second->diagnostics() + postgres.diagnostics();
  }
};

/// The ports of the instance whose /health says it forwards, and of the one on standby; waits
/// until exactly one leads.
std::pair<int, int> leader_and_standby(int first, int second) {
  std::pair<int, int> roles{0, 0};
  bool one_leads = eventually([&] {
    std::string a = health_of(first).value("forwarding_role", "");
    std::string b = health_of(second).value("forwarding_role", "");
    if (a == "leader" && b == "standby") roles = {first, second};
    if (b == "leader" && a == "standby") roles = {second, first};
    return roles.first != 0;
  });
  REQUIRE_MESSAGE(one_leads, health_of(first).dump() << health_of(second).dump());
  return roles;
}

}  // namespace

TEST_SUITE_BEGIN("cluster");

TEST_CASE(
    "postgres store: concurrent posters on two instances and a reader polling GET /messages?after= "
    "on both: ids strictly increase, none is ever skipped, and every stream gets each once in "
    "order") {
  SharedStore cluster;
  INFO(cluster.diagnostics());
  Relay& relay = *cluster.relay;
  int ports[2] = {relay.message_port(), cluster.second->port()};
  for (int port : ports) {
    Json health = health_of(port);
    CHECK(health.value("store_engine", "") == "postgres");
    CHECK(health.value("status", "") == "ok");
  }
  SseStream live(relay.notify_port(), "/events");
  REQUIRE(live.wait_connected());

  // 4 posters (2 per instance) x 100 messages while a reader pages with after= on both instances
  // in turn; a skipped id would be one committed below a cursor the reader already passed.
  constexpr int kPosters = 4;
  constexpr int kPerPoster = 100;
  std::atomic<bool> posting{true};
  std::vector<std::vector<int64_t>> acknowledged(kPosters);
  std::vector<std::thread> posters;
  for (int p = 0; p < kPosters; ++p) {
    posters.emplace_back([&, p] {
      HttpClient http(ports[p % 2]);
      for (int i = 0; i < kPerPoster; ++i) {
        HttpResponse answer = http.post_json(
            "/messages", Json{{"content", "p" + std::to_string(p) + "-" + std::to_string(i)}});
        if (answer.status != 201) break;  // the check below reports the shortfall
        acknowledged[p].push_back(std::stoll(answer.json().value("id", "0")));
      }
    });
  }
  std::vector<int64_t> read;
  std::string reader_error;
  std::thread reader([&] {
    int64_t cursor = 0;
    for (int turn = 0;; ++turn) {
      bool last_round = !posting.load();
      for (int port : ports) {
        for (;;) {
          HttpResponse page =
              HttpClient(port).get("/messages?after=" + std::to_string(cursor) + "&limit=50");
          if (page.status != 200) {
            reader_error = page.describe();
            return;
          }
          Json body = page.json();
          const Json& messages = body.is_array() ? body : body["messages"];
          if (messages.empty()) break;
          for (const Json& message : messages) {
            int64_t id = std::stoll(message.value("id", "0"));
            if (id <= cursor) reader_error = "id " + std::to_string(id) + " after cursor";
            cursor = id;
            read.push_back(id);
          }
        }
      }
      if (last_round) return;
    }
  });
  for (auto& poster : posters) poster.join();
  posting = false;
  reader.join();
  CHECK_MESSAGE(reader_error.empty(), reader_error);

  std::vector<int64_t> all;
  for (const auto& ids : acknowledged) {
    CHECK(ids.size() == kPerPoster);
    for (size_t i = 1; i < ids.size(); ++i) CHECK(ids[i] > ids[i - 1]);
    all.insert(all.end(), ids.begin(), ids.end());
  }
  std::sort(all.begin(), all.end());
  // The reader saw each acknowledged message exactly once, in order: none skipped.
  CHECK(compare_ids(read, all) == "");

  int64_t marker = post_marker(HttpClient(ports[1]));
  REQUIRE_MESSAGE(live.wait_message_id(marker), live.describe());
  CHECK(compare_ids(live.message_ids(), with(all, marker)) == "");
  CHECK(compare_ids(stream_ids(cluster.bus.redis), with(all, marker)) == "");

  // An idempotency key holds across instances: the retry through the other one gets the original.
  httplib::Headers key{{"Idempotency-Key", "retry-elsewhere"}};
  HttpResponse first = HttpClient(ports[0]).post_json("/messages", Json{{"content", "once"}}, key);
  HttpResponse again = HttpClient(ports[1]).post_json("/messages", Json{{"content", "once"}}, key);
  REQUIRE(first.status == 201);
  CHECK(again.status == 200);
  CHECK(again.json().value("id", "") == first.json().value("id", ""));
  HttpResponse other = HttpClient(ports[1]).post_json("/messages", Json{{"content", "not"}}, key);
  CHECK(other.status == 409);
}

TEST_CASE(
    "postgres store: one instance holds the forwarding lease, and when it is killed with -9 the "
    "other takes over within seconds, a stream gets everything once, in order, and history comes "
    "from the survivor") {
  RelayOptions options;
  options.notify_env["RING_SIZE"] = "4";  // a resume from further back reads history
  SharedStore cluster(options);
  INFO(cluster.diagnostics());
  Relay& relay = *cluster.relay;
  auto [leader, standby] = leader_and_standby(relay.message_port(), cluster.second->port());
  REQUIRE(leader == relay.message_port());
  // notify-service reads history through nginx, from whichever message-service answers.
  NginxServer nginx(cluster.bus.dir.subdir("nginx"), {leader, standby}, {relay.notify_port()});
  REQUIRE_MESSAGE(nginx.start(), nginx.diagnostics());
  relay.notify().stop();
  relay.notify().env()["MESSAGE_SERVICE_URL"] =
      "http://127.0.0.1:" + std::to_string(nginx.api_port());
  relay.start_notify();
  wait_ready(relay.notify_port(), false);

  SseStream live(relay.notify_port(), "/events");
  REQUIRE(live.wait_connected());
  // Posts through the standby go out through the leader.
  std::vector<int64_t> ids = post_many(HttpClient(standby), "via-standby-", 5);
  std::vector<int64_t> more = post_many(HttpClient(leader), "via-leader-", 5);
  ids.insert(ids.end(), more.begin(), more.end());
  REQUIRE_MESSAGE(live.wait_message_id(ids.back()), live.describe());
  CHECK(compare_ids(live.message_ids(), ids) == "");

  relay.message().kill9();
  std::vector<int64_t> after = post_many(HttpClient(standby), "after-kill-", 5);
  ids.insert(ids.end(), after.begin(), after.end());
  bool took_over =
      eventually([&] { return health_of(standby).value("forwarding_role", "") == "leader"; });
  CHECK_MESSAGE(took_over, health_of(standby).dump());
  int64_t marker = post_marker(HttpClient(standby));
  REQUIRE_MESSAGE(live.wait_message_id(marker), live.describe());
  CHECK(compare_ids(live.message_ids(), with(ids, marker)) == "");
  CHECK(compare_ids(stream_ids(cluster.bus.redis), with(ids, marker)) == "");
  CHECK(eventually([&] { return health_of(standby).value("forward_backlog", -1) == 0; }));

  // A client back from far behind: beyond the ring, so from history, which only the survivor
  // can give now.
  SseStream resumed(relay.notify_port(), "/events", {{"Last-Event-ID", std::to_string(ids[1])}});
  REQUIRE_MESSAGE(resumed.wait_message_id(marker), resumed.describe());
  CHECK(resume_of(resumed) == "history");
  std::vector<int64_t> expected(ids.begin() + 2, ids.end());
  CHECK(compare_ids(resumed.message_ids(), with(expected, marker)) == "");
}

TEST_CASE(
    "postgres store: PostgreSQL killed with -9 under load: nothing acknowledged is lost, posts "
    "get 503 store_unavailable while it is down, and everything works again by itself") {
  SharedStore cluster;
  INFO(cluster.diagnostics());
  Relay& relay = *cluster.relay;
  int ports[2] = {relay.message_port(), cluster.second->port()};
  SseStream live(relay.notify_port(), "/events");
  REQUIRE(live.wait_connected());

  // Two posters, one per instance, post until told to stop; PostgreSQL dies under them.
  std::atomic<bool> posting{true};
  std::mutex mutex;
  std::vector<int64_t> acknowledged;  // guarded by mutex
  std::atomic<int> refused{0};
  std::atomic<int> other{0};
  std::vector<std::thread> posters;
  for (int p = 0; p < 2; ++p) {
    posters.emplace_back([&, p] {
      HttpClient http(ports[p], 5s);
      for (int i = 0; posting.load(); ++i) {
        HttpResponse answer = http.post_json(
            "/messages", Json{{"content", "p" + std::to_string(p) + "-" + std::to_string(i)}});
        if (answer.status == 201) {
          std::lock_guard lock(mutex);
          acknowledged.push_back(std::stoll(answer.json().value("id", "0")));
        } else if (answer.status == 503 &&
                   answer.json().value("error", "") == "store_unavailable") {
          ++refused;
        } else {
          ++other;
        }
      }
    });
  }
  auto acknowledged_count = [&] {
    std::lock_guard lock(mutex);
    return acknowledged.size();
  };
  REQUIRE(eventually([&] { return acknowledged_count() >= 50; }));
  cluster.postgres.kill9();
  REQUIRE(eventually([&] { return refused.load() >= 4; }));
  // While it is down: reads are 503 too, and /health says so.
  HttpResponse listing = HttpClient(ports[0]).get("/messages");
  CHECK(listing.status == 503);
  CHECK(listing.json().value("error", "") == "store_unavailable");
  CHECK(HttpClient(ports[1]).get("/health").status == 503);

  REQUIRE_MESSAGE(cluster.postgres.start(), cluster.postgres.diagnostics());
  size_t before_return = acknowledged_count();
  REQUIRE(eventually([&] { return acknowledged_count() >= before_return + 20; }));
  posting = false;
  for (auto& poster : posters) poster.join();
  CHECK(other.load() == 0);

  std::vector<int64_t> all;
  {
    std::lock_guard lock(mutex);
    all = acknowledged;
  }
  std::sort(all.begin(), all.end());
  // Every 201 is in the database, and nothing else is: a refused post stored nothing.
  CHECK(cluster.postgres.query("SELECT count(*) FROM relay_messages") ==
        std::to_string(all.size()));
  int64_t marker = post_marker(HttpClient(ports[0]));
  REQUIRE_MESSAGE(live.wait_message_id(marker, 60s), live.describe());
  CHECK(compare_ids(live.message_ids(), with(all, marker)) == "");
  for (int port : ports) {
    CHECK_MESSAGE(eventually([&] { return health_of(port).value("status", "") == "ok"; }),
                  health_of(port).dump());
  }
}

TEST_CASE(
    "postgres store, accounts: an account, its sessions and its private channels hold on every "
    "instance, and a removed member gets nothing more through any of them") {
  SharedStore cluster({}, /*accounts=*/true);
  INFO(cluster.diagnostics());
  Relay& relay = *cluster.relay;
  HttpClient a(relay.message_port());
  HttpClient b(cluster.second->port());

  // Registered through one instance, known to the other: the name is taken there, and the
  // password signs in there.
  Account alice = register_account(a, "alice");
  auto taken = b.post_json("/auth/register", {{"username", "alice"}, {"password", kPassword}});
  CHECK_MESSAGE(taken.status == 409, taken.describe());
  auto on_b = b.post_json("/auth/login", {{"username", "alice"}, {"password", kPassword}});
  REQUIRE_MESSAGE(on_b.status == 200, on_b.describe());
  Account alice_b = signed_in_from(on_b);
  Account bob = register_account(b, "bob");
  Account carol = register_account(a, "carol");
  CHECK(a.get("/auth/me", bearer(bob.token)).status == 200);

  // A channel created through one instance is listed through the other before any message, and
  // a member added through the other instance is one everywhere.
  auto lobby = a.post_json("/channels", {{"name", "lobby"}}, bearer(carol.token));
  REQUIRE_MESSAGE(lobby.status == 201, lobby.describe());
  auto plans =
      a.post_json("/channels", {{"name", "plans"}, {"private", true}}, bearer(alice.token));
  REQUIRE_MESSAGE(plans.status == 201, plans.describe());
  auto added = b.post_json("/channels/plans/members", {{"user", "bob"}}, bearer(alice_b.token));
  REQUIRE_MESSAGE(added.status == 201, added.describe());
  auto names_for = [](const HttpClient& http, const Account& who) {
    std::set<std::string> names;
    HttpResponse listed = http.get("/channels", bearer(who.token));
    REQUIRE_MESSAGE(listed.status == 200, listed.describe());
    Json body = listed.json();
    for (const Json& channel : body["channels"]) names.insert(channel.value("name", ""));
    std::string joined;  // "a b c", by name
    for (const std::string& name : names) joined += (joined.empty() ? "" : " ") + name;
    return joined;
  };
  CHECK(names_for(b, carol) == "lobby");
  CHECK(names_for(b, bob) == "lobby plans");
  CHECK(names_for(a, bob) == "lobby plans");
  auto members = a.get("/channels/plans/members", bearer(bob.token));
  REQUIRE_MESSAGE(members.status == 200, members.describe());
  CHECK(members.json()["members"] == Json::array({"alice", "bob"}));

  // Streams of bob and carol, each opened with a ticket from a different instance.
  auto ticket = [](const HttpClient& http, const Account& who) {
    auto issued = http.post("/auth/stream-ticket", "", "application/json", bearer(who.token));
    REQUIRE_MESSAGE(issued.status == 201, issued.describe());
    return issued.json().value("ticket", "");
  };
  SseStream bob_stream(relay.notify_port(), "/events?ticket=" + ticket(a, bob));
  SseStream carol_stream(relay.notify_port(), "/events?ticket=" + ticket(b, carol));
  REQUIRE_MESSAGE(bob_stream.wait_connected(), bob_stream.describe());
  REQUIRE_MESSAGE(carol_stream.wait_connected(), carol_stream.describe());
  int64_t secret = id_of(
      post_message(a, {{"content", "for members"}, {"channel", "plans"}}, bearer(alice.token)));
  int64_t marker = post_marker(b.with_headers(bearer(carol.token)));
  REQUIRE_MESSAGE(bob_stream.wait_message_id(marker), bob_stream.describe());
  REQUIRE_MESSAGE(carol_stream.wait_message_id(marker), carol_stream.describe());
  CHECK(compare_ids(bob_stream.message_ids(), {secret, marker}) == "");
  CHECK(compare_ids(carol_stream.message_ids(), {marker}) == "");

  // Bob is removed through one instance. At once, the other hides the channel from him, and what
  // is posted to it after goes to its members only, whichever instance forwards it.
  auto removed = b.del("/channels/plans/members/bob", bearer(alice_b.token));
  REQUIRE_MESSAGE(removed.status == 200, removed.describe());
  CHECK(a.get("/messages?channel=plans", bearer(bob.token)).status == 404);
  CHECK(a.get("/messages/" + std::to_string(secret), bearer(bob.token)).status == 404);
  CHECK(names_for(a, bob) == "general lobby");
  SseStream alice_stream(relay.notify_port(), "/events?ticket=" + ticket(b, alice_b));
  REQUIRE_MESSAGE(alice_stream.wait_connected(), alice_stream.describe());
  int64_t after = id_of(post_message(a, {{"content", "members only now"}, {"channel", "plans"}},
                                     bearer(alice.token)));
  int64_t second_marker = post_marker(a.with_headers(bearer(carol.token)));
  REQUIRE_MESSAGE(bob_stream.wait_message_id(second_marker), bob_stream.describe());
  REQUIRE_MESSAGE(alice_stream.wait_message_id(second_marker), alice_stream.describe());
  CHECK(compare_ids(bob_stream.message_ids(), {secret, marker, second_marker}) == "");
  CHECK(compare_ids(alice_stream.message_ids(), {after, second_marker}) == "");
  // Posting there is refused to him through either instance (the event loop's copy of the
  // directory follows within the watch's notification).
  for (const HttpClient* http : {&a, &b}) {
    CHECK(eventually([&] {
      return http->post_json("/messages", {{"content", "let me in"}, {"channel", "plans"}},
                             bearer(bob.token))
                 .status == 404;
    }));
  }

  // A logout through one instance ends the session on the other: the refresh cookie at once
  // (it is read from the shared store), the access token as soon as the watch hears of it.
  auto out = b.post("/auth/logout", "", "application/json", bearer(alice_b.token));
  REQUIRE_MESSAGE(out.status == 200, out.describe());
  auto renewed = a.post("/auth/token", "", "application/json",
                        {{"Cookie", "relay_session=" + alice_b.session}});
  CHECK(renewed.status == 401);
  CHECK(eventually([&] { return a.get("/auth/me", bearer(alice_b.token)).status == 401; }));
  CHECK(a.get("/auth/me", bearer(alice.token)).status == 200);  // her other session lives

  // A restarted instance starts from the shared tables: the ended session stays ended there.
  cluster.second->stop();
  REQUIRE_MESSAGE(cluster.second->start(), cluster.second->diagnostics());
  HttpClient b_again(cluster.second->port());
  CHECK(b_again.get("/auth/me", bearer(alice_b.token)).status == 401);
  CHECK(b_again.get("/auth/me", bearer(alice.token)).status == 200);
  CHECK(names_for(b_again, bob) == "general lobby");

  // The operator removes bob on the command line, pointed at the shared database: his sessions
  // end and he leaves every channel, on every instance.
  auto readded = a.post_json("/channels/plans/members", {{"user", "bob"}}, bearer(alice.token));
  REQUIRE_MESSAGE(readded.status == 201, readded.describe());
  ServiceProcess tool("message-service user", message_service_binary(), relay.message().env());
  tool.set_args({"user", "remove", "bob"});
  REQUIRE(tool.spawn());
  auto status = tool.wait_exit(60s);
  REQUIRE(status);
  CHECK_MESSAGE(status->clean(), tool.diagnostics());
  auto left = b_again.get("/channels/plans/members", bearer(alice.token));
  REQUIRE_MESSAGE(left.status == 200, left.describe());
  CHECK(left.json()["members"] == Json::array({"alice"}));
  for (const HttpClient* http : {&a, &b_again}) {
    CHECK(eventually([&] { return http->get("/auth/me", bearer(bob.token)).status == 401; }));
    auto login = http->post_json("/auth/login", {{"username", "bob"}, {"password", kPassword}});
    CHECK(login.status == 401);
  }
}

TEST_CASE(
    "postgres store, accounts: members added and removed through two instances at once all "
    "land, and both instances list the same members") {
  SharedStore cluster({}, /*accounts=*/true);
  INFO(cluster.diagnostics());
  HttpClient a(cluster.relay->message_port());
  HttpClient b(cluster.second->port());
  Account owner = register_account(a, "owner");
  auto plans =
      a.post_json("/channels", {{"name", "plans"}, {"private", true}}, bearer(owner.token));
  REQUIRE_MESSAGE(plans.status == 201, plans.describe());
  // Two users per side (registrations are limited per address).
  const std::vector<std::string> names[2] = {{"a0", "a1"}, {"b0", "b1"}};
  for (const auto& side : names) {
    for (const auto& name : side) register_account(a, name);
  }
  // Two changers, one per instance, each adding and removing its own users for a few rounds and
  // adding them at the end: every change plans against its instance's copy, so many find the
  // other's change committed first and plan again.
  constexpr int kRounds = 10;
  std::vector<std::string> failures[2];
  std::vector<std::thread> changers;
  for (int side = 0; side < 2; ++side) {
    changers.emplace_back([&, side] {
      const HttpClient& http = side == 0 ? a : b;
      for (int round = 0; round < kRounds; ++round) {
        for (const auto& name : names[side]) {
          auto add =
              http.post_json("/channels/plans/members", {{"user", name}}, bearer(owner.token));
          if (add.status != 201) failures[side].push_back("add: " + add.describe());
          if (round == kRounds - 1) continue;
          auto remove = http.del("/channels/plans/members/" + name, bearer(owner.token));
          if (remove.status != 200) failures[side].push_back("remove: " + remove.describe());
        }
      }
    });
  }
  for (auto& changer : changers) changer.join();
  for (const auto& side : failures) CHECK_MESSAGE(side.empty(), side.front());
  for (const HttpClient* http : {&a, &b}) {
    auto members = http->get("/channels/plans/members", bearer(owner.token));
    REQUIRE_MESSAGE(members.status == 200, members.describe());
    CHECK(members.json()["members"] == Json::array({"a0", "a1", "b0", "b1", "owner"}));
  }
}

TEST_CASE(
    "postgres store: per-user post limits and the sign-in throttle hold across instances: posts "
    "alternating between two instances get 429 after about one burst, not two, and failed sign-ins "
    "spread over both lock the user out of both after 5 in all, and with Redis gone posts are "
    "still "
    "taken") {
  SharedStore cluster(
      accounts_options({{"RATE_MESSAGES_BURST", "5"}, {"RATE_MESSAGES_PER_SEC", "1"}}));
  INFO(cluster.diagnostics());
  HttpClient instances[2] = {HttpClient(cluster.relay->message_port()),
                             HttpClient(cluster.second->port())};
  Account alice = register_account(instances[0], "alice");

  // Counted per instance, 5 would pass on each, 10 in all; one budget lets 5 pass (plus what
  // refilled while the burst ran).
  int turn = 0;
  Burst burst = send_burst(12, [&] {
    return instances[turn++ % 2].post_json("/messages", {{"content", "burst"}},
                                           bearer(alice.token));
  });
  CHECK(burst.passed + burst.limited == 12);
  CHECK(burst.passed >= 5);
  CHECK(burst.passed <= 5 + burst.took_s + 1);
  double limited = 0;
  for (const HttpClient& http : instances) {
    std::string metrics = http.get("/metrics").body;
    limited += metric_value(metrics, "relay_messages_rate_limited_total").value_or(0);
    CHECK(metric_value(metrics, "relay_rate_limit_fallbacks_total").value_or(-1) == 0);
  }
  CHECK(limited == burst.limited);

  // 5 wrong passwords, 3 on one instance and 2 on the other: each saw fewer than 5, yet both
  // refuse even the right one now.
  register_account(instances[1], "bob");
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto wrong = instances[attempt % 2].post_json(
        "/auth/login", {{"username", "bob"}, {"password", "wrong one!"}});
    CHECK_MESSAGE(wrong.status == 401, wrong.describe());
  }
  for (const HttpClient& http : instances) {
    auto right = http.post_json("/auth/login", {{"username", "bob"}, {"password", kPassword}});
    CHECK_MESSAGE(right.status == 429, right.describe());
    CHECK(right.json().value("error", "") == "too_many_attempts");
    CHECK(std::stoi(right.header("Retry-After")) > 0);
  }

  // Redis gone: each instance's own count decides, and posts are still taken.
  Account carol = register_account(instances[0], "carol");
  cluster.bus.redis.kill9();
  for (const HttpClient& http : instances) {
    auto posted = http.post_json("/messages", {{"content", "Redis is down"}}, bearer(carol.token));
    CHECK_MESSAGE(posted.status == 201, posted.describe());
    std::string metrics = http.get("/metrics").body;
    CHECK(metric_value(metrics, "relay_rate_limit_fallbacks_total").value_or(0) >= 1);
  }
}

TEST_CASE("postgres store: a combination that cannot work refuses to start with one line") {
  TempDir dir;
  struct Refused {
    Environment env;
    std::string says;
  };
  std::vector<Refused> cases = {
      {{{"STORE", "postgres"}}, "DATABASE_URL"},
      {{{"STORE", "postgres"}, {"DATABASE_URL", "postgresql://relay@127.0.0.1:1/relay"}},
       "BROKER=redis"},
      {{{"STORE", "postgres"},
        {"DATABASE_URL", "postgresql://relay@127.0.0.1:1/relay"},
        {"BROKER", "redis"},
        {"AUTH_MODE", "accounts"}},
       "AUTH_SECRET"},
      {{{"STORE", "mysql"}}, "STORE"},
  };
  for (const Refused& refused : cases) {
    Environment env = refused.env;
    env["PORT"] = "0";
    env["DATA_DIR"] = dir.subdir("data");
    ServiceProcess service("message-service", message_service_binary(), env);
    REQUIRE(service.spawn());
    auto status = service.wait_exit(kPatience);
    REQUIRE(status.has_value());
    CHECK(status->code == 2);
    CHECK_MESSAGE(service.diagnostics().find(refused.says) != std::string::npos,
                  service.diagnostics());
  }
}

TEST_SUITE_END();

}  // namespace relay::itest
