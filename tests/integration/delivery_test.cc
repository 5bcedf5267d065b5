// Delivery: fan-out to many streams, channel and DM filtering, and the plain HTTP API of both
// services.

#include <map>
#include <regex>
#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "tests/integration/auth_modes.h"
#include "tests/integration/harness.h"

namespace relay::itest {
namespace {

const std::regex kTimestamp(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");

// The ids of `messages`, in order.
std::vector<int64_t> ids_of(const std::vector<Json>& messages) {
  std::vector<int64_t> ids;
  for (const auto& message : messages) ids.push_back(id_of(message));
  return ids;
}

// GET `path` on message-service and returns its "messages" array (REQUIREs a 200).
std::vector<Json> history(const HttpClient& http, const std::string& path) {
  HttpResponse response = http.get(path);
  REQUIRE_MESSAGE(response.status == 200, "GET " << path << ": " << response.describe());
  Json body = response.json();
  REQUIRE_MESSAGE((body.is_object() && body.contains("messages") && body["messages"].is_array()),
                  "GET " << path << ": " << response.describe());
  return body["messages"].get<std::vector<Json>>();
}

}  // namespace

TEST_SUITE_BEGIN("integration");

TEST_CASE_TEMPLATE("fan-out: 1000 messages reach 50 open streams exactly once and in order", Mode,
                   OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  const httplib::Headers watcher = relay.as();
  HttpClient poster = relay.message_as("poster");
  constexpr int kStreams = 50;
  constexpr int kThreads = 4;
  constexpr int kPerThread = 250;

  std::vector<std::unique_ptr<SseStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    std::string target = "/events?client_id=fan-" + std::to_string(i);
    if (i % 2 == 1) target += "&channels=load";  // half listen to every channel, half to "load"
    streams.push_back(std::make_unique<SseStream>(relay.notify_port(), target, watcher));
  }
  for (auto& stream : streams) REQUIRE_MESSAGE(stream->wait_connected(), stream->describe());

  // Post from a few client threads; collect id -> content from the 201 responses.
  std::mutex posted_mutex;
  std::map<int64_t, std::string> posted;
  std::vector<std::string> failures;
  std::vector<std::thread> posters;
  for (int t = 0; t < kThreads; ++t) {
    posters.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string content = "m-" + std::to_string(t) + "-" + std::to_string(i);
        HttpResponse response = poster.post_json(
            "/messages", {{"content", content}, {"channel", "load"}, {"user", "poster"}});
        std::lock_guard lock(posted_mutex);
        Json body = response.json();
        if (response.status != 201 || !body.is_object() || !body["id"].is_string()) {
          failures.push_back(response.describe());
          continue;
        }
        auto id = std::stoll(body["id"].get<std::string>());
        if (!posted.emplace(id, content).second) failures.push_back("id reused: " + body.dump());
      }
    });
  }
  for (auto& poster : posters) poster.join();
  REQUIRE_MESSAGE(failures.empty(), failures.size() << " posts failed, first: " << failures[0]);
  REQUIRE(posted.size() == kThreads * kPerThread);

  // Once the marker is there, any duplicate of what came before it would be there too.
  const int64_t marker = post_marker(poster, "load");
  std::vector<int64_t> expected;
  for (const auto& entry : posted) expected.push_back(entry.first);
  expected.push_back(marker);
  for (auto& stream : streams) {
    CHECK_MESSAGE(stream->wait_message_id(marker), stream->describe());
  }
  for (auto& stream : streams) {
    std::string difference = compare_ids(stream->message_ids(), expected);
    CHECK_MESSAGE(difference.empty(), stream->describe() << ": " << difference);
    CHECK_MESSAGE(stream->problems().empty(), stream->describe());
    size_t wrong_content = 0;
    for (const auto& message : stream->messages()) {
      if (message.id == marker) continue;
      auto it = posted.find(message.id);
      if (it == posted.end() || message.data.value("content", "") != it->second) ++wrong_content;
    }
    CHECK_MESSAGE(wrong_content == 0, stream->describe());
  }
  for (auto& stream : streams) stream->request_stop();
}

TEST_CASE_TEMPLATE("filtering: streams get exactly their channels and their direct messages", Mode,
                   OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  // Streams without a user are someone nobody writes to (in accounts mode a stream is always
  // somebody's); the others are their user's own.
  HttpClient http = relay.message_as();
  HttpClient alice = relay.message_as("alice");
  HttpClient bob = relay.message_as("bob");
  std::map<std::string, std::unique_ptr<SseStream>> streams;
  for (std::string query : {"channels=a", "channels=b", "", "user=alice", "user=bob", "user=carol",
                            "channels=a&user=alice", "channels=a,b"}) {
    std::string user;
    if (size_t at = query.find("user="); at != std::string::npos) user = query.substr(at + 5);
    streams[query] =
        std::make_unique<SseStream>(relay.notify_port(), "/events?" + query, relay.as(user));
  }
  for (auto& [query, stream] : streams)
    REQUIRE_MESSAGE(stream->wait_connected(), stream->describe());

  int64_t a1 = id_of(post_message(http, {{"content", "to a #1"}, {"channel", "a"}}));
  int64_t b1 = id_of(post_message(http, {{"content", "to b #1"}, {"channel", "b"}}));
  int64_t dm_ab = id_of(post_message(
      alice, {{"content", "alice to bob"}, {"user", "alice"}, {"to", "bob"}, {"channel", "a"}}));
  int64_t a2 = id_of(post_message(http, {{"content", "to a #2"}, {"channel", "a"}}));
  int64_t dm_bc = id_of(post_message(
      bob, {{"content", "bob to carol"}, {"user", "bob"}, {"to", "carol"}, {"channel", "b"}}));
  int64_t g1 = id_of(post_message(http, {{"content", "to general"}}));
  int64_t b2 = id_of(post_message(http, {{"content", "to b #2"}, {"channel", "b"}}));

  const std::map<std::string, std::vector<int64_t>> expected = {
      {"channels=a", {a1, a2}},
      {"channels=b", {b1, b2}},
      {"", {a1, b1, a2, g1, b2}},
      {"user=alice", {a1, b1, dm_ab, a2, g1, b2}},
      {"user=bob", {a1, b1, dm_ab, a2, dm_bc, g1, b2}},
      {"user=carol", {a1, b1, a2, dm_bc, g1, b2}},
      {"channels=a&user=alice", {a1, dm_ab, a2}},
      {"channels=a,b", {a1, b1, a2, b2}},
  };
  // Markers on "a" and then "b": every stream gets the last marker of a channel it receives, and
  // once that is there, any extra or duplicate of what came before it would be there too.
  const int64_t marker_a = post_marker(http, "a");
  const int64_t marker_b = post_marker(http, "b");
  const std::set<std::string> receive_only_a = {"channels=a", "channels=a&user=alice"};
  for (auto& [query, stream] : streams) {
    int64_t last_marker = receive_only_a.count(query) ? marker_a : marker_b;
    CHECK_MESSAGE(stream->wait_message_id(last_marker), query << ": " << stream->describe());
  }
  for (auto& [query, stream] : streams) {
    std::vector<int64_t> with_markers = expected.at(query);
    if (query != "channels=b") with_markers.push_back(marker_a);
    if (!receive_only_a.count(query)) with_markers.push_back(marker_b);
    std::string difference = compare_ids(stream->message_ids(), with_markers);
    CHECK_MESSAGE(difference.empty(), "events?" << query << ": " << difference);
    CHECK_MESSAGE(stream->problems().empty(), stream->describe());
  }
  // The DM carries its recipient.
  for (const auto& message : streams.at("user=bob")->messages()) {
    if (message.id == dm_ab) {
      CHECK(message.data["to"] == "bob");
      CHECK(message.data["user"] == "alice");
      CHECK(message.data["content"] == "alice to bob");
    }
  }
}

TEST_CASE("message-service: POST and GET /messages follow the contract") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  CHECK(relay.message().first_line().find("svc=message") != std::string::npos);
  CHECK(relay.message().first_line().find("msg=listening") != std::string::npos);

  HttpResponse created = http.post_json(
      "/messages",
      {{"content", "hello \xC3\xA9 \xF0\x9F\x8E\x89"}, {"user", "alice"}, {"channel", "dev"}});
  REQUIRE_MESSAGE(created.status == 201, created.describe());
  Json first = created.json();
  REQUIRE(first.is_object());
  int64_t first_id = id_of(first);
  CHECK(first["content"] == "hello \xC3\xA9 \xF0\x9F\x8E\x89");
  CHECK(first["user"] == "alice");
  CHECK(first["channel"] == "dev");
  CHECK(first["status"] == "sent");
  CHECK_FALSE(first.contains("to"));
  REQUIRE(first["timestamp"].is_string());
  CHECK(std::regex_match(first["timestamp"].get<std::string>(), kTimestamp));
  CHECK(created.header("Location") == "/messages/" + std::to_string(first_id));
  CHECK(created.header("Content-Type").find("application/json") == 0);
  CHECK(created.has_header("Access-Control-Allow-Origin"));

  Json defaults = post_message(http, {{"content", "defaults"}});
  CHECK(defaults["user"] == "anonymous");
  CHECK(defaults["channel"] == "general");
  CHECK(id_of(defaults) > first_id);
  Json dm = post_message(http, {{"content", "psst"}, {"user", "alice"}, {"to", "bob"}});
  CHECK(dm["to"] == "bob");
  Json other = post_message(http, {{"content", "other"}, {"channel", "ops"}});
  CHECK(id_of(dm) > id_of(defaults));
  CHECK(id_of(other) > id_of(dm));

  // GET /messages/{id}
  HttpResponse one = http.get("/messages/" + std::to_string(first_id));
  REQUIRE_MESSAGE(one.status == 200, one.describe());
  for (const char* field : {"id", "content", "user", "channel", "timestamp"}) {
    CHECK_MESSAGE(one.json()[field] == first[field], field);
  }
  HttpResponse missing = http.get("/messages/999999999");
  CHECK_MESSAGE(missing.status == 404, missing.describe());
  CHECK(missing.json().contains("error"));

  // History: ascending, DMs only for their parties, channel filter, after, limit.
  CHECK(ids_of(history(http, "/messages")) ==
        std::vector<int64_t>{first_id, id_of(defaults), id_of(other)});
  CHECK(ids_of(history(http, "/messages?user=alice")) ==
        std::vector<int64_t>{first_id, id_of(defaults), id_of(dm), id_of(other)});
  CHECK(ids_of(history(http, "/messages?user=bob")).size() == 4);
  CHECK(ids_of(history(http, "/messages?user=carol")).size() == 3);
  CHECK(ids_of(history(http, "/messages?channel=dev")) == std::vector<int64_t>{first_id});
  CHECK(ids_of(history(http, "/messages?channel=dev,ops")) ==
        std::vector<int64_t>{first_id, id_of(other)});
  CHECK(ids_of(history(http, "/messages?after=" + std::to_string(first_id))) ==
        std::vector<int64_t>{id_of(defaults), id_of(other)});
  CHECK(ids_of(history(http, "/messages?limit=2")) ==
        std::vector<int64_t>{id_of(defaults), id_of(other)});
  CHECK(ids_of(history(http, "/messages?after=0&limit=1")) == std::vector<int64_t>{first_id});
  CHECK(history(http, "/messages")[0] == history(http, "/messages?channel=dev")[0]);
  for (const char* bad : {"/messages?limit=1001", "/messages?after=abc", "/messages?limit=-1",
                          "/messages?channel=bad%20name"}) {
    HttpResponse response = http.get(bad);
    CHECK_MESSAGE(response.status == 400, bad << ": " << response.describe());
    CHECK_MESSAGE(response.json().contains("error"), bad << ": " << response.describe());
  }
  CHECK(history(http, "/messages?limit=1000").size() == 3);
}

TEST_CASE("message-service: health, metrics, CORS, the web page and config") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  post_message(http, {{"content", "counted"}});

  HttpResponse health = http.get("/health");
  REQUIRE_MESSAGE(health.status == 200, health.describe());
  Json body = health.json();
  CHECK(body["status"] == "ok");
  CHECK(body["version"].is_string());
  CHECK(body["store"] == "ok");
  CHECK(body["forward_backlog"].is_number_integer());
  CHECK(body["notify_reachable"].is_boolean());
  CHECK((body["forwarding"] == "ok" || body["forwarding"] == "retrying"));
  CHECK(eventually([&] {
    Json now = http.get("/health").json();
    return now.is_object() && now["notify_reachable"] == true && now["forward_backlog"] == 0;
  }));

  HttpResponse metrics = http.get("/metrics");
  REQUIRE_MESSAGE(metrics.status == 200, metrics.describe());
  CHECK(metrics.header("Content-Type").find("text/plain") == 0);
  for (const char* name :
       {"relay_messages_stored_total", "relay_messages_forwarded_total",
        "relay_forward_errors_total", "relay_forward_backlog", "http_requests_total"}) {
    CHECK_MESSAGE(metric_value(metrics.body, name).has_value(), name << " missing");
  }
  CHECK(metric_value(metrics.body, "relay_messages_stored_total") == 1.0);
  CHECK(eventually([&] {
    return metric_value(http.get("/metrics").body, "relay_messages_forwarded_total") == 1.0;
  }));
  CHECK(metrics.body.find("http_requests_total{") != std::string::npos);
  CHECK(metrics.body.find("status=\"201\"") != std::string::npos);

  HttpResponse preflight = http.options("/messages");
  CHECK_MESSAGE(preflight.status == 204, preflight.describe());
  CHECK(preflight.header("Access-Control-Allow-Methods").find("POST") != std::string::npos);
  CHECK(preflight.header("Access-Control-Allow-Methods").find("GET") != std::string::npos);
  CHECK(preflight.has_header("Access-Control-Allow-Origin"));
  CHECK(health.has_header("Access-Control-Allow-Origin"));

  HttpResponse page = http.get("/");
  CHECK_MESSAGE(page.status == 200, page.describe());
  CHECK(page.header("Content-Type").find("text/html") == 0);
  HttpResponse config = http.get("/config.json");
  CHECK_MESSAGE(config.status == 200, config.describe());
  // A string when PUBLIC_NOTIFY_URL is set; null tells the page to use notify's port on its host.
  CHECK(config.json().contains("notify_url"));
  CHECK((config.json()["notify_url"].is_string() || config.json()["notify_url"].is_null()));
}

TEST_CASE("notify-service: health and metrics") {
  RelayOptions options;
  options.notify_env["HEARTBEAT_SECONDS"] = "1";  // a closed stream is noticed at the next write
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient http = relay.notify_http();
  CHECK(relay.notify().first_line().find("svc=notify") != std::string::npos);
  CHECK(relay.notify().first_line().find("msg=listening") != std::string::npos);
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());
  int64_t id = id_of(post_message(relay.message_http(), {{"content", "one"}}));
  REQUIRE(stream.wait_messages(1));

  HttpResponse health = http.get("/health");
  REQUIRE_MESSAGE(health.status == 200, health.describe());
  Json body = health.json();
  CHECK(body["status"] == "ok");
  CHECK(body["version"].is_string());
  CHECK(body["subscribers"] == 1);
  CHECK(body["last_event_id"] == std::to_string(id));

  HttpResponse metrics = http.get("/metrics");
  REQUIRE_MESSAGE(metrics.status == 200, metrics.describe());
  for (const char* name :
       {"relay_subscribers", "relay_events_sent_total", "relay_slow_consumers_cut_total",
        "relay_ring_replays_total", "relay_history_replays_total", "relay_resets_total"}) {
    CHECK_MESSAGE(metric_value(metrics.body, name).has_value(), name << " missing");
  }
  CHECK(metric_value(metrics.body, "relay_subscribers") == 1.0);
  CHECK(metric_value(metrics.body, "relay_events_sent_total") >= 1.0);
  CHECK(metric_value(metrics.body, "relay_slow_consumers_cut_total") == 0.0);

  stream.stop();
  CHECK(eventually([&] { return http.get("/health").json().value("subscribers", -1) == 0; }));
}

TEST_SUITE_END();

}  // namespace relay::itest
