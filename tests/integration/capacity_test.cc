// Capacity and stream hygiene: many streams at once, the subscriber cap, a reader that never
// reads, heartbeats and the stream preamble.

#include <cstdlib>
#include <thread>

#include <doctest/doctest.h>

#include "tests/integration/harness.h"

namespace relay::itest {

TEST_SUITE_BEGIN("integration");

TEST_CASE("capacity: 220 open streams while POST /notify and GET /health keep answering") {
  RelayOptions options;
  options.start_message = false;
  Relay relay(options);
  INFO(relay.diagnostics());
  constexpr int kStreams = 220;
  std::vector<std::unique_ptr<SseStream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<SseStream>(relay.notify_port(),
                                                  "/events?client_id=many-" + std::to_string(i)));
  }
  size_t connected = 0;
  for (auto& stream : streams) {
    if (stream->wait_connected()) {
      ++connected;
    } else {
      FAIL_CHECK(stream->describe());
    }
  }
  REQUIRE(connected == kStreams);

  // Short timeouts: a server whose workers are all held by streams would not answer these.
  HttpClient quick = relay.notify_http(5s);
  HttpResponse health = quick.get("/health");
  REQUIRE_MESSAGE(health.status == 200, health.describe());
  CHECK(health.json()["subscribers"] == kStreams);
  for (int id = 1; id <= 5; ++id) {
    HttpResponse posted =
        quick.post_json("/notify", wire_message(id, "to all " + std::to_string(id)));
    CHECK_MESSAGE(posted.status / 100 == 2, posted.describe());
    HttpResponse still = quick.get("/health");
    CHECK_MESSAGE(still.status == 200, still.describe());
  }
  HttpResponse metrics = quick.get("/metrics");
  CHECK_MESSAGE(metrics.status == 200, metrics.describe());
  CHECK(metric_value(metrics.body, "relay_subscribers") == kStreams);

  for (auto& stream : streams) {
    CHECK_MESSAGE(stream->wait_messages(5), stream->describe());
  }
  for (auto& stream : streams) {
    CHECK_MESSAGE(compare_ids(stream->message_ids(), {1, 2, 3, 4, 5}) == "", stream->describe());
  }
  for (auto& stream : streams) stream->request_stop();
  streams.clear();
}

TEST_CASE("capacity: beyond MAX_SUBSCRIBERS a stream gets 503 with Retry-After") {
  RelayOptions options;
  options.start_message = false;
  options.notify_env["MAX_SUBSCRIBERS"] = "5";
  // No heartbeat within the test: a closed stream must be noticed by the peer check alone.
  options.notify_env["HEARTBEAT_SECONDS"] = "3600";
  Relay relay(options);
  INFO(relay.diagnostics());
  std::vector<std::unique_ptr<SseStream>> streams;
  for (int i = 0; i < 5; ++i) {
    streams.push_back(std::make_unique<SseStream>(relay.notify_port(), "/events"));
    REQUIRE_MESSAGE(streams.back()->wait_connected(), streams.back()->describe());
  }
  SseStream refused(relay.notify_port(), "/events");
  CHECK_FALSE(refused.wait_connected());
  CHECK_MESSAGE(refused.status() == 503, refused.describe());
  CHECK_MESSAGE(!refused.header("Retry-After").empty(), refused.describe());
  CHECK(refused.header("Content-Type").find("application/json") == 0);
  CHECK_MESSAGE(Json::parse(refused.body(), nullptr, false).contains("error"), refused.describe());
  CHECK(relay.notify_http().get("/health").json()["subscribers"] == 5);

  // A slot frees when a stream goes away.
  streams.back()->stop();
  streams.pop_back();
  bool admitted = eventually(
      [&] {
        SseStream retry(relay.notify_port(), "/events");
        if (retry.wait_connected(10s)) {
          streams.push_back(nullptr);  // keep the count honest below
          return true;
        }
        return false;
      },
      kPatience);
  CHECK(admitted);
}

TEST_CASE("capacity: a reader that never reads is cut off without hurting others or memory") {
  RelayOptions options;
  options.start_message = false;
  options.notify_env["MAX_BACKLOG_BYTES"] = "65536";
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_http();

  RawSocket stalled(relay.notify_port(), 4096);  // tiny receive window, set before connect
  REQUIRE(stalled.connected());
  REQUIRE(
      stalled.send_all("GET /events?client_id=stalled HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Accept: text/event-stream\r\n\r\n"));
  SseStream healthy(relay.notify_port(), "/events?client_id=healthy");
  REQUIRE(healthy.wait_connected());
  REQUIRE(eventually([&] { return notify.get("/health").json().value("subscribers", 0) == 2; }));

  // 2,000 x 8 KiB, 4 per POST (32 KiB, half the cap), each batch sent once the healthy reader has
  // the previous one: a reader that keeps up never nears the cap, the stalled one passes it. (One
  // POST bigger than the cap would overflow every stream's backlog at once, healthy or not.)
  constexpr int kMessages = 2000;
  constexpr int kBatch = 4;
  const std::string content(8192, 'z');
  long max_rss_kib = 0;
  for (int start = 1; start <= kMessages; start += kBatch) {
    Json batch = Json::array();
    for (int id = start; id < start + kBatch; ++id) batch.push_back(wire_message(id, content));
    HttpResponse posted = notify.post_json("/notify", batch);
    REQUIRE_MESSAGE(posted.status / 100 == 2, "batch from " << start << ": " << posted.describe());
    REQUIRE_MESSAGE(healthy.wait_message_id(start + kBatch - 1), healthy.describe());
    if (start % 100 == 1) max_rss_kib = std::max(max_rss_kib, rss_kib(relay.notify().pid()));
  }
  CHECK_MESSAGE(healthy.wait_messages(kMessages), healthy.describe());
  max_rss_kib = std::max(max_rss_kib, rss_kib(relay.notify().pid()));
  std::vector<int64_t> all(kMessages);
  for (int i = 0; i < kMessages; ++i) all[i] = i + 1;
  CHECK_MESSAGE(compare_ids(healthy.message_ids(), all) == "", healthy.describe());
  CHECK(healthy.problems().empty());
  CHECK_FALSE(healthy.ended());

  CHECK(eventually([&] {
    return metric_value(notify.get("/metrics").body, "relay_slow_consumers_cut_total") >= 1.0;
  }));
  CHECK(eventually([&] { return notify.get("/health").json().value("subscribers", 0) == 1; }));
  // The server let go of the stalled connection: reading it now reaches the end.
  size_t drained = 0;
  CHECK_MESSAGE(stalled.drain_until_eof(kPatience, &drained), drained << " bytes, no EOF");
  MESSAGE("notify-service max RSS " << max_rss_kib / 1024 << " MiB; stalled reader got " << drained
                                    << " bytes before the cut");
  // Generous: the stalled stream's backlog must be bounded, not the whole process tuned.
  // Sanitizer builds use far more memory; RELAY_TEST_MAX_RSS_MIB raises the bound for them.
  const char* max_rss_setting = std::getenv("RELAY_TEST_MAX_RSS_MIB");
  const long max_rss_mib = max_rss_setting != nullptr ? std::atol(max_rss_setting) : 200;
  CHECK(max_rss_kib > 0);
  CHECK(max_rss_kib < max_rss_mib * 1024);
}

TEST_CASE("stream: headers and preamble: retry then connected with the client id") {
  RelayOptions options;
  options.start_message = false;
  options.notify_env["RETRY_MS"] = "1234";
  Relay relay(options);
  INFO(relay.diagnostics());
  SseStream stream(relay.notify_port(), "/events?client_id=probe-1&channels=a,b");
  REQUIRE_MESSAGE(stream.wait_connected(), stream.describe());
  CHECK(stream.status() == 200);
  CHECK(stream.header("Content-Type") == "text/event-stream");
  CHECK(stream.header("Cache-Control").find("no-store") != std::string::npos);
  CHECK(stream.header("X-Accel-Buffering") == "no");
  CHECK_FALSE(stream.header("Access-Control-Allow-Origin").empty());
  CHECK(stream.raw_prefix().rfind("retry: 1234\n", 0) == 0);
  CHECK(stream.retry_ms() == 1234);
  std::vector<SseEvent> events = stream.events();
  REQUIRE_FALSE(events.empty());
  CHECK(events[0].event == "connected");
  CHECK_FALSE(events[0].has_id);
  Json connected = Json::parse(events[0].data, nullptr, false);
  CHECK_MESSAGE(connected.value("client_id", "") == "probe-1", events[0].data);

  // Without a client_id the server makes one up.
  SseStream anonymous(relay.notify_port(), "/events");
  REQUIRE(anonymous.wait_connected());
  Json generated = Json::parse(anonymous.events().at(0).data, nullptr, false);
  CHECK_MESSAGE(
      (generated["client_id"].is_string() && !generated["client_id"].get<std::string>().empty()),
      anonymous.events().at(0).data);

  // A bad filter is refused before streaming.
  SseStream bad(relay.notify_port(), "/events?channels=no%20spaces");
  CHECK_FALSE(bad.wait_connected());
  CHECK_MESSAGE(bad.status() == 400, bad.describe());
}

TEST_CASE("stream: an idle stream gets a ping comment every HEARTBEAT_SECONDS") {
  RelayOptions options;
  options.start_message = false;
  options.notify_env["HEARTBEAT_SECONDS"] = "1";
  Relay relay(options);
  INFO(relay.diagnostics());
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());
  CHECK_MESSAGE(stream.wait_until([&] { return stream.comment_count() >= 3; }), stream.describe());
  CHECK(stream.raw_prefix().find("\n: ping\n") != std::string::npos);
  CHECK(stream.message_count() == 0);
  CHECK_FALSE(stream.ended());
}

TEST_SUITE_END();

}  // namespace relay::itest
