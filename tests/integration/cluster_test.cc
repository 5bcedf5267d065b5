// The relay as operators run it on several instances: a real Redis bus, one message-service, three
// notify-services, and a real nginx in front with the configuration scripts/nginx-conf.sh gives
// them; and scripts/cluster.sh itself, started and stopped as a user would. Traffic goes through
// nginx; "nothing twice" is proven with markers.

#include <csignal>
#include <filesystem>
#include <random>

#include <doctest/doctest.h>

#include "tests/integration/accounts_support.h"
#include "tests/integration/bus_support.h"
#include "tests/support/nginx_server.h"

namespace relay::itest {

namespace {

/// Whether something accepts TCP connections on 127.0.0.1:`port`.
bool listening(int port) {
  return HttpClient(port, 1s).get("/health").status != 0;
}

}  // namespace

TEST_SUITE_BEGIN("cluster");

TEST_CASE(
    "cluster: clients of a notify-service killed with -9 move through nginx to the others with "
    "Last-Event-ID, and lose nothing and get nothing twice") {
  Bus bus;
  Relay relay(bus.options());
  auto second = start_instance(relay, "notify-service-2");
  auto third = start_instance(relay, "notify-service-3");
  wait_ready(second->port(), false);
  wait_ready(third->port(), false);
  NginxServer nginx(bus.dir.subdir("nginx"), {relay.message_port()},
                    {relay.notify_port(), second->port(), third->port()});
  REQUIRE_MESSAGE(nginx.start(), nginx.diagnostics());
  INFO(relay.diagnostics() << second->diagnostics() << third->diagnostics() << nginx.diagnostics());

  // Six streams through nginx: round robin puts two on each instance.
  constexpr int kStreams = 6;
  std::vector<std::unique_ptr<SseStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<SseStream>(nginx.stream_port(),
                                                  "/events?client_id=c" + std::to_string(i)));
    REQUIRE_MESSAGE(streams.back()->wait_connected(), streams.back()->describe());
  }
  // nginx consumes X-Accel-Buffering (notify-service's "do not buffer" to a proxy) itself.
  CHECK(streams[0]->header("Content-Type").find("text/event-stream") == 0);
  CHECK(streams[0]->header("X-Accel-Buffering").empty());
  HttpClient api(nginx.api_port());
  // notify-service's /notify is not reachable through the front door.
  HttpResponse notify_through_nginx =
      HttpClient(nginx.stream_port())
          .post("/notify", R"({"id":"1","content":"x","user":"u","channel":"general"})",
                "application/json");
  CHECK(notify_through_nginx.status == 404);
  CHECK(notify_through_nginx.body.find("nginx") != std::string::npos);  // nginx's page, not ours
  std::vector<int64_t> ids = post_many(api, "before-", 10);
  for (auto& stream : streams) REQUIRE(stream->wait_message_id(ids.back()));

  second->kill9();
  std::vector<bool> cut(kStreams, false);
  REQUIRE(eventually([&] {
    int ended = 0;
    for (int i = 0; i < kStreams; ++i) {
      cut[i] = streams[i]->ended();
      ended += cut[i] ? 1 : 0;
    }
    return ended == 2;
  }));
  std::vector<int64_t> while_moving = post_many(api, "moving-", 5);

  // Each cut client comes back through nginx (which skips the dead instance) from its last id.
  std::vector<std::unique_ptr<SseStream>> moved;
  std::vector<int64_t> expected_after_move;
  for (int i = 0; i < kStreams; ++i) {
    if (!cut[i]) continue;
    std::vector<int64_t> got = streams[i]->message_ids();
    REQUIRE(got == ids);
    moved.push_back(std::make_unique<SseStream>(
        nginx.stream_port(), "/events?client_id=c" + std::to_string(i),
        httplib::Headers{{"Last-Event-ID", std::to_string(got.back())}}));
    REQUIRE_MESSAGE(moved.back()->wait_connected(), moved.back()->describe());
    CHECK(resume_of(*moved.back()) == "ring");
  }
  int64_t marker = post_marker(api);
  for (auto& stream : moved) {
    REQUIRE_MESSAGE(stream->wait_message_id(marker), stream->describe());
    CHECK(compare_ids(stream->message_ids(), with(while_moving, marker)) == "");
  }
  std::vector<int64_t> everything = ids;
  everything.insert(everything.end(), while_moving.begin(), while_moving.end());
  for (int i = 0; i < kStreams; ++i) {
    if (cut[i]) continue;
    REQUIRE_MESSAGE(streams[i]->wait_message_id(marker), streams[i]->describe());
    CHECK(compare_ids(streams[i]->message_ids(), with(everything, marker)) == "");
  }
}

TEST_CASE(
    "cluster: behind a trusted proxy the per-address limits count the client's address, and "
    "anyone else's X-Forwarded-For is ignored") {
  for (bool trusted : {true, false}) {
    CAPTURE(trusted);
    RelayOptions options = accounts_options();
    options.notify_env["MAX_STREAMS_PER_ADDRESS"] = "1";
    if (trusted) options.notify_env["TRUSTED_PROXIES"] = "127.0.0.1";
    Relay relay(options);
    INFO(relay.diagnostics());
    Account alice = register_account(relay.message_http(), "alice");
    auto from = [&](const std::string& address) {
      return httplib::Headers{{"Authorization", "Bearer " + alice.token},
                              {"X-Forwarded-For", address}};
    };
    SseStream first(relay.notify_port(), "/events", from("203.0.113.1"));
    REQUIRE_MESSAGE(first.wait_connected(), first.describe());
    SseStream other_client(relay.notify_port(), "/events", from("203.0.113.2"));
    SseStream same_client(relay.notify_port(), "/events", from("203.0.113.1"));
    if (trusted) {
      CHECK_MESSAGE(other_client.wait_connected(), other_client.describe());
    } else {
      REQUIRE(other_client.wait_ended());
      CHECK(other_client.status() == 429);  // all one address: the header is not believed
    }
    REQUIRE(same_client.wait_ended());
    CHECK(same_client.status() == 429);
    bool logged = false;
    for (const auto& line : relay.notify().stdout_lines()) {
      if (line.find("msg=\"stream opened\"") != std::string::npos &&
          line.find("remote=203.0.113.1") != std::string::npos) {
        logged = true;
      }
    }
    CHECK(logged == trusted);
  }
}

/// scripts/cluster.sh run as a user would, with its internal ports from a fixed base: below the
/// kernel's ephemeral range (32768 and up), where the other tests' port-0 binds never land, at a
/// random offset for parallel runs. The constructor REQUIREs "cluster: started".
struct ClusterScript {
  TempDir dir;
  int base = 0;
  int api_port = reserve_free_port();
  int stream_port = reserve_free_port();
  std::unique_ptr<ServiceProcess> process;

  explicit ClusterScript(const Environment& extra = {}) {
    std::mt19937 random(std::random_device{}());
    base = 20000 + static_cast<int>(random() % 100) * 100;
    std::filesystem::path build =
        std::filesystem::path(message_service_binary()).parent_path().parent_path();
    // The default topology: PostgreSQL and two message-services on it. Run as root, PostgreSQL
    // runs as nobody, who must be able to reach its folder.
    std::string cluster_dir = dir.subdir("cluster");
    for (std::filesystem::path path = cluster_dir; path != path.root_path();
         path = path.parent_path()) {
      std::error_code ignored;
      std::filesystem::permissions(path, std::filesystem::perms::others_exec,
                                   std::filesystem::perm_options::add, ignored);
    }
    Environment env = {{"PATH", "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"},
                       {"SKIP_BUILD", "1"},
                       {"BUILD_DIR", build.string()},
                       {"CLUSTER_DIR", cluster_dir},
                       {"API_PORT", std::to_string(api_port)},
                       {"STREAM_PORT", std::to_string(stream_port)},
                       {"INTERNAL_PORT_BASE", std::to_string(base)}};
    for (const auto& [name, value] : extra) env[name] = value;
    process = std::make_unique<ServiceProcess>("cluster.sh", "/bin/bash", env);
    process->set_args({scripts_dir() + "/cluster.sh"});
    REQUIRE(process->spawn());
    REQUIRE_MESSAGE(eventually([&] { return said("cluster: started") || !process->running(); }),
                    process->diagnostics(60));
    REQUIRE_MESSAGE(process->running(), process->diagnostics(60));
  }

  /// Whether the script printed a line containing `words`.
  bool said(const std::string& words) const {
    for (const auto& line : process->stdout_lines()) {
      if (line.find(words) != std::string::npos) return true;
    }
    return false;
  }

  /// SIGTERM; CHECKs a clean exit, its goodbye, and that nothing it started still listens.
  void stop_and_check() {
    process->terminate();
    auto status = process->wait_exit(30s);
    REQUIRE(status.has_value());
    CHECK(status->clean());
    CHECK(said("cluster: stopped"));
    for (int port :
         {api_port, stream_port, base + 80, base + 81, base + 91, base + 92, base + 93}) {
      CAPTURE(port);
      CHECK_FALSE(listening(port));
    }
  }
};

TEST_CASE(
    "cluster: scripts/cluster.sh starts the topology, serves through nginx, stops on SIGTERM") {
  ClusterScript cluster;
  int base = cluster.base;
  INFO(cluster.process->diagnostics(60));
  CHECK(cluster.said("notify-service   127.0.0.1:" + std::to_string(base + 91) + " 127.0.0.1:" +
                     std::to_string(base + 92) + " 127.0.0.1:" + std::to_string(base + 93)));
  CHECK(cluster.said("message-service  127.0.0.1:" + std::to_string(base + 80) +
                     " 127.0.0.1:" + std::to_string(base + 81) + " (STORE=postgres"));
  CHECK(cluster.said("postgres         127.0.0.1:" + std::to_string(base + 432)));
  // Both message-services on the one database; exactly one forwards.
  for (int port : {base + 80, base + 81}) {
    CHECK(HttpClient(port).get("/health").json().value("store_engine", "") == "postgres");
  }
  CHECK(eventually([&] {
    int now = 0;
    for (int port : {base + 80, base + 81}) {
      now += HttpClient(port).get("/health").json().value("forwarding_role", "") == "leader";
    }
    return now == 1;
  }));

  SseStream first(cluster.stream_port, "/events");
  SseStream second(cluster.stream_port, "/events");
  REQUIRE(first.wait_connected());
  REQUIRE(second.wait_connected());
  HttpClient api(cluster.api_port);
  // Round robin spreads the posts over both message-services; the streams get them all, in order.
  std::vector<int64_t> ids = post_many(api, "through nginx ", 4);
  int64_t id = post_marker(api);
  REQUIRE(first.wait_message_id(id));
  REQUIRE(second.wait_message_id(id));
  CHECK(compare_ids(first.message_ids(), with(ids, id)) == "");
  CHECK(compare_ids(second.message_ids(), with(ids, id)) == "");
  HttpResponse page = api.get("/");
  CHECK(page.status == 200);
  HttpResponse config = api.get("/config.json");
  CHECK(config.json().value("notify_port", "") == std::to_string(cluster.stream_port));
  cluster.stop_and_check();
}

TEST_CASE(
    "cluster: scripts/cluster.sh with AUTH_MODE=accounts: accounts, sessions and private "
    "channels through nginx, whichever message-service answers") {
  ClusterScript cluster(Environment{{"AUTH_MODE", "accounts"}});
  INFO(cluster.process->diagnostics(60));
  HttpClient api(cluster.api_port);
  // nginx takes turns: registrations, sign-ins and channel changes land on both instances.
  Account alice = register_account(api, "alice");
  Account bob = register_account(api, "bob");
  Account carol = register_account(api, "carol");
  for (int i = 0; i < 2; ++i) {
    CHECK(api.get("/auth/me", bearer(alice.token)).status == 200);
    auto login = api.post_json("/auth/login", {{"username", "bob"}, {"password", kPassword}});
    CHECK_MESSAGE(login.status == 200, login.describe());
  }
  create_private(api, alice, "plans", {&bob});
  auto stream_of = [&](const Account& who) {
    auto issued = api.post("/auth/stream-ticket", "", "application/json", bearer(who.token));
    REQUIRE_MESSAGE(issued.status == 201, issued.describe());
    return std::make_unique<SseStream>(cluster.stream_port,
                                       "/events?ticket=" + issued.json().value("ticket", ""));
  };
  auto bob_stream = stream_of(bob);
  auto carol_stream = stream_of(carol);
  REQUIRE_MESSAGE(bob_stream->wait_connected(), bob_stream->describe());
  REQUIRE_MESSAGE(carol_stream->wait_connected(), carol_stream->describe());
  std::vector<int64_t> secret;
  for (int i = 0; i < 2; ++i) {
    secret.push_back(
        id_of(post_message(api, {{"content", "plan " + std::to_string(i)}, {"channel", "plans"}},
                           bearer(alice.token))));
  }
  int64_t marker = post_marker(api.with_headers(bearer(carol.token)));
  REQUIRE_MESSAGE(bob_stream->wait_message_id(marker), bob_stream->describe());
  REQUIRE_MESSAGE(carol_stream->wait_message_id(marker), carol_stream->describe());
  CHECK(compare_ids(bob_stream->message_ids(), with(secret, marker)) == "");
  CHECK(compare_ids(carol_stream->message_ids(), {marker}) == "");
  for (int i = 0; i < 2; ++i) {
    CHECK(api.get("/messages?channel=plans", bearer(carol.token)).status == 404);
  }
  cluster.stop_and_check();
}

TEST_SUITE_END();

}  // namespace relay::itest
