// Durability and exactly-once: kill -9 after acknowledged posts, clean shutdown with streams open,
// idempotent retries.

#include <set>
#include <thread>

#include <doctest/doctest.h>

#include "tests/integration/auth_modes.h"
#include "tests/integration/harness.h"

namespace relay::itest {
namespace {

// Every message in message-service history (REQUIREs a 200), ascending.
std::vector<Json> all_history(const HttpClient& http, const std::string& query = "") {
  HttpResponse response = http.get("/messages?limit=1000" + query);
  REQUIRE_MESSAGE(response.status == 200, response.describe());
  Json body = response.json();
  REQUIRE_MESSAGE((body.is_object() && body["messages"].is_array()), response.describe());
  return body["messages"].get<std::vector<Json>>();
}

}  // namespace

TEST_SUITE_BEGIN("integration");

TEST_CASE_TEMPLATE(
    "durability: every acknowledged message survives kill -9 of message-service and is delivered "
    "once",
    Mode, OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  // In accounts mode the session behind this credential must survive the kill as well.
  HttpClient http = relay.message_as("d");
  SseStream open_stream(relay.notify_port(), "/events", relay.as());
  REQUIRE(open_stream.wait_connected());

  std::vector<int64_t> acknowledged;
  std::map<int64_t, std::string> content_by_id;
  for (int i = 0; i < 200; ++i) {
    std::string content = "durable-" + std::to_string(i);
    Json message = post_message(http, {{"content", content}, {"user", "d"}});
    acknowledged.push_back(id_of(message));
    content_by_id[acknowledged.back()] = content;
  }
  ExitStatus killed = relay.message().kill9();
  CHECK_MESSAGE((!killed.exited && killed.signal == SIGKILL), killed.describe());

  relay.start_message();  // same DATA_DIR, same port
  std::vector<Json> stored = all_history(http);
  std::vector<int64_t> stored_ids;
  for (const auto& message : stored) {
    stored_ids.push_back(id_of(message));
    auto it = content_by_id.find(stored_ids.back());
    if (it != content_by_id.end()) {
      CHECK(message["content"] == it->second);
      CHECK(message["user"] == "d");
    }
  }
  std::string difference = compare_ids(stored_ids, acknowledged);
  CHECK_MESSAGE(difference.empty(), "history after restart: " << difference);

  // The stream that stayed open gets everything once, whether forwarded before or after the kill.
  CHECK_MESSAGE(open_stream.wait_messages(acknowledged.size()), open_stream.describe());
  SseStream from_zero(relay.notify_port(), "/events", relay.as("", {{"Last-Event-ID", "0"}}));
  REQUIRE_MESSAGE(from_zero.wait_connected(), from_zero.describe());
  CHECK_MESSAGE(from_zero.wait_messages(acknowledged.size()), from_zero.describe());

  int64_t after = id_of(post_message(http, {{"content", "after restart"}}));
  CHECK(after > acknowledged.back());
  // Once the marker is there, any duplicate of what came before it would be there too.
  const int64_t marker = post_marker(http);
  std::vector<int64_t> expected = acknowledged;
  expected.push_back(after);
  expected.push_back(marker);
  for (SseStream* stream : {&open_stream, &from_zero}) {
    CHECK_MESSAGE(stream->wait_message_id(marker), stream->describe());
  }
  for (SseStream* stream : {&open_stream, &from_zero}) {
    std::string stream_difference = compare_ids(stream->message_ids(), expected);
    CHECK_MESSAGE(stream_difference.empty(), stream->describe() << ": " << stream_difference);
    CHECK(stream->problems().empty());
  }
}

TEST_CASE(
    "shutdown: SIGTERM with 20 streams open ends both services with status 0 and keeps the data") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  std::vector<std::unique_ptr<SseStream>> streams;
  for (int i = 0; i < 20; ++i) {
    streams.push_back(std::make_unique<SseStream>(relay.notify_port(), "/events"));
  }
  for (auto& stream : streams) REQUIRE_MESSAGE(stream->wait_connected(), stream->describe());
  Json last = post_message(http, {{"content", "just before shutdown"}, {"channel", "bye"}});
  for (auto& stream : streams) CHECK_MESSAGE(stream->wait_messages(1), stream->describe());

  // Both at once, as a supervisor would; each must exit cleanly, and not take forever.
  relay.notify().terminate();
  relay.message().terminate();
  auto started = Clock::now();
  for (ServiceProcess* service : {&relay.notify(), &relay.message()}) {
    std::optional<ExitStatus> status = service->wait_exit(10s);
    CHECK_MESSAGE(status.has_value(), service->name() << " still runs 10 s after SIGTERM");
    if (!status) status = service->kill9();
    CHECK_MESSAGE(status->clean(), service->name() << " " << status->describe());
    MESSAGE(service->name() << " exited "
                            << std::chrono::duration_cast<Millis>(Clock::now() - started).count()
                            << " ms after SIGTERM");
  }
  for (auto& stream : streams) CHECK_MESSAGE(stream->wait_ended(10s), stream->describe());

  relay.start_message();
  HttpResponse kept = http.get("/messages/" + last["id"].get<std::string>());
  REQUIRE_MESSAGE(kept.status == 200, kept.describe());
  CHECK(kept.json()["content"] == "just before shutdown");
  CHECK(kept.json()["channel"] == "bye");
}

TEST_CASE_TEMPLATE(
    "idempotency: the same key and body store and broadcast one message and another body is 409",
    Mode, OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("retry");
  SseStream stream(relay.notify_port(), "/events?channels=idem", relay.as());
  REQUIRE(stream.wait_connected());

  const Json body = {{"content", "exactly once"}, {"channel", "idem"}, {"user", "retry"}};
  const httplib::Headers key = {{"Idempotency-Key", "key-0001"}};
  HttpResponse first = http.post_json("/messages", body, key);
  REQUIRE_MESSAGE(first.status == 201, first.describe());
  HttpResponse again = http.post_json("/messages", body, key);
  CHECK_MESSAGE((again.status == 200 || again.status == 201), again.describe());
  CHECK(again.json()["id"] == first.json()["id"]);
  CHECK(again.json()["content"] == "exactly once");
  CHECK(again.json()["timestamp"] == first.json()["timestamp"]);

  HttpResponse conflict =
      http.post_json("/messages", {{"content", "a different body"}, {"channel", "idem"}}, key);
  CHECK_MESSAGE(conflict.status == 409, conflict.describe());
  CHECK(conflict.json().contains("error"));

  // The same key sent concurrently: still one message.
  const httplib::Headers racing_key = {{"Idempotency-Key", "key-racing"}};
  const Json racing_body = {{"content", "raced"}, {"channel", "idem"}};
  std::vector<HttpResponse> racing(8);
  std::vector<std::thread> threads;
  for (auto& response : racing) {
    threads.emplace_back([&] { response = http.post_json("/messages", racing_body, racing_key); });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> racing_ids;
  for (const auto& response : racing) {
    CHECK_MESSAGE((response.status == 200 || response.status == 201), response.describe());
    if (response.json().is_object()) racing_ids.insert(response.json().value("id", ""));
  }
  CHECK(racing_ids.size() == 1);

  Json marker = post_message(http, {{"content", "marker"}, {"channel", "idem"}});
  REQUIRE_MESSAGE(stream.wait_message_id(id_of(marker)), stream.describe());
  std::vector<int64_t> expected = {id_of(first.json())};
  if (racing_ids.size() == 1) expected.push_back(std::stoll(*racing_ids.begin()));
  expected.push_back(id_of(marker));
  std::string difference = compare_ids(stream.message_ids(), expected);
  CHECK_MESSAGE(difference.empty(), stream.describe() << ": " << difference);

  std::vector<Json> stored = all_history(http, "&channel=idem");
  std::vector<int64_t> stored_ids;
  for (const auto& message : stored) stored_ids.push_back(id_of(message));
  CHECK(compare_ids(stored_ids, expected) == "");
}

TEST_CASE(
    "durability: a forwarder refused by notify-service keeps the messages and delivers them once "
    "the token is fixed") {
  RelayOptions options;
  options.notify_env["NOTIFY_TOKEN"] = "right-token";
  options.message_env["NOTIFY_TOKEN"] = "wrong-token";
  Relay relay(options);
  INFO(relay.diagnostics());
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());
  HttpClient http = relay.message_http();
  std::vector<int64_t> ids;
  for (int i = 0; i < 5; ++i) {
    ids.push_back(id_of(post_message(http, {{"content", "held " + std::to_string(i)}})));
  }
  CHECK(eventually([&] {
    Json health = http.get("/health").json();
    return health.is_object() && health["forwarding"] == "retrying" &&
           health["forward_backlog"] == 5 && health["notify_reachable"] == true;
  }));
  CHECK(metric_value(http.get("/metrics").body, "relay_forward_errors_total").value_or(0) >= 1);
  CHECK(stream.message_ids().empty());

  relay.message().stop();
  relay.message().env()["NOTIFY_TOKEN"] = "right-token";
  relay.start_message();
  REQUIRE_MESSAGE(stream.wait_message_id(ids.back()), stream.describe());
  CHECK(compare_ids(stream.message_ids(), ids) == "");
  CHECK(eventually([&] {
    Json health = relay.message_http().get("/health").json();
    return health.is_object() && health["forwarding"] == "ok" && health["forward_backlog"] == 0;
  }));
}

TEST_SUITE_END();

}  // namespace relay::itest
