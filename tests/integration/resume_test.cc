// Resuming a stream: from notify-service's ring, from message-service's history, the reset when
// neither can help, and resuming across a notify-service restart.

#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "tests/integration/auth_modes.h"
#include "tests/integration/harness.h"

namespace relay::itest {
namespace {

// Posts `count` messages to channel "r" and returns their ids in order.
std::vector<int64_t> post_many(const HttpClient& http, int count, const std::string& prefix) {
  std::vector<int64_t> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(
        id_of(post_message(http, {{"content", prefix + std::to_string(i)}, {"channel", "r"}})));
  }
  return ids;
}

std::vector<int64_t> concat(std::vector<int64_t> a, const std::vector<int64_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_SUITE_BEGIN("integration");

TEST_CASE_TEMPLATE(
    "resume: Last-Event-ID header and last_event_id query replay the missed messages from the "
    "ring",
    Mode, OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("poster");

  auto first = std::make_unique<SseStream>(relay.notify_port(), "/events?client_id=r1", relay.as());
  REQUIRE(first->wait_connected());
  std::vector<int64_t> seen = post_many(http, 5, "seen-");
  REQUIRE_MESSAGE(first->wait_messages(5), first->describe());
  REQUIRE(compare_ids(first->message_ids(), seen) == "");
  const int64_t last_seen = first->message_ids().back();
  first->stop();

  std::vector<int64_t> missed = post_many(http, 7, "missed-");
  REQUIRE(wait_notify_has(relay.notify_http(), missed.back()));

  SseStream by_header(relay.notify_port(), "/events?client_id=r1",
                      relay.as("", {{"Last-Event-ID", std::to_string(last_seen)}}));
  SseStream by_query(relay.notify_port(),
                     "/events?client_id=r1&last_event_id=" + std::to_string(last_seen), relay.as());
  for (SseStream* stream : {&by_header, &by_query}) {
    REQUIRE_MESSAGE(stream->wait_connected(), stream->describe());
    CHECK_MESSAGE(stream->wait_messages(missed.size()), stream->describe());
  }
  std::vector<int64_t> live = post_many(http, 3, "live-");
  // Once the marker is there, any duplicate of what came before it would be there too.
  const int64_t marker = post_marker(http, "r");
  const std::vector<int64_t> expected = concat(concat(missed, live), {marker});
  for (SseStream* stream : {&by_header, &by_query}) {
    CHECK_MESSAGE(stream->wait_message_id(marker), stream->describe());
  }
  for (SseStream* stream : {&by_header, &by_query}) {
    std::string difference = compare_ids(stream->message_ids(), expected);
    CHECK_MESSAGE(difference.empty(), stream->describe() << ": " << difference);
    CHECK(stream->count_events("reset") == 0);
    CHECK(stream->problems().empty());
  }
  auto metrics = relay.notify_http().get("/metrics").body;
  CHECK(metric_value(metrics, "relay_ring_replays_total") >= 1.0);
}

TEST_CASE_TEMPLATE("resume: an id older than the ring is replayed from message-service history",
                   Mode, OpenMode, AccountsMode, SharedStoreMode) {
  RelayOptions options;
  options.notify_env["RING_SIZE"] = "10";
  ModeRelay relay(Mode{}, options);
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("poster");

  std::vector<int64_t> ids = post_many(http, 100, "h-");
  REQUIRE(wait_notify_has(relay.notify_http(), ids.back()));

  SseStream stream(relay.notify_port(), "/events",
                   relay.as("", {{"Last-Event-ID", std::to_string(ids[4])}}));
  REQUIRE_MESSAGE(stream.wait_connected(), stream.describe());
  std::vector<int64_t> expected(ids.begin() + 5, ids.end());
  CHECK_MESSAGE(stream.wait_messages(expected.size()), stream.describe());
  std::vector<int64_t> live = post_many(http, 5, "live-");
  const int64_t marker = post_marker(http, "r");
  expected = concat(concat(expected, live), {marker});
  CHECK_MESSAGE(stream.wait_message_id(marker), stream.describe());
  std::string difference = compare_ids(stream.message_ids(), expected);
  CHECK_MESSAGE(difference.empty(), stream.describe() << ": " << difference);
  CHECK(stream.count_events("reset") == 0);
  CHECK(stream.problems().empty());
  // The replayed messages carry their stored content.
  for (const auto& message : stream.messages()) {
    if (message.id == ids[5]) CHECK(message.data["content"] == "h-5");
  }
  auto metrics = relay.notify_http().get("/metrics").body;
  CHECK(metric_value(metrics, "relay_history_replays_total") >= 1.0);
}

TEST_CASE("resume: when history is unreachable an old id gets event reset and then live messages") {
  RelayOptions options;
  options.start_message = false;  // MESSAGE_SERVICE_URL points at a closed port
  options.notify_env["RING_SIZE"] = "5";
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_http();

  Json batch = Json::array();
  for (int id = 1; id <= 20; ++id) batch.push_back(wire_message(id, fmt::format("n{}", id)));
  HttpResponse fed = notify.post_json("/notify", batch);
  REQUIRE_MESSAGE(fed.status / 100 == 2, fed.describe());
  REQUIRE(wait_notify_has(notify, 20));

  // Within the ring: no history needed, no reset.
  SseStream recent(relay.notify_port(), "/events", {{"Last-Event-ID", "18"}});
  REQUIRE_MESSAGE(recent.wait_connected(), recent.describe());
  CHECK_MESSAGE(recent.wait_messages(2), recent.describe());

  // Older than the ring, and history unreachable: reset.
  SseStream old(relay.notify_port(), "/events", {{"Last-Event-ID", "2"}});
  REQUIRE_MESSAGE(old.wait_connected(), old.describe());
  REQUIRE_MESSAGE(old.wait_until([&] { return old.count_events("reset") > 0; }), old.describe());

  Json live = Json::array();
  for (int id = 21; id <= 25; ++id) live.push_back(wire_message(id, fmt::format("n{}", id)));
  HttpResponse fed_live = notify.post_json("/notify", live);
  REQUIRE_MESSAGE(fed_live.status / 100 == 2, fed_live.describe());

  // The marker (26, history unreachable: straight to /notify): once it is there, any duplicate of
  // what came before it would be there too.
  HttpResponse fed_marker = notify.post_json("/notify", wire_message(26, "marker"));
  REQUIRE_MESSAGE(fed_marker.status / 100 == 2, fed_marker.describe());
  CHECK_MESSAGE(old.wait_message_id(26), old.describe());
  CHECK_MESSAGE(recent.wait_message_id(26), recent.describe());

  CHECK(compare_ids(recent.message_ids(), {19, 20, 21, 22, 23, 24, 25, 26}) == "");
  CHECK(recent.count_events("reset") == 0);

  // The reset comes before any message; what follows is in order, without duplicates, and
  // includes every live message once.
  std::vector<SseEvent> events = old.events();
  size_t reset_at = events.size();
  for (size_t i = 0; i < events.size(); ++i) {
    if (events[i].event == "reset") {
      reset_at = i;
      break;
    }
  }
  REQUIRE(reset_at < events.size());
  CHECK(Json::parse(events[reset_at].data, nullptr, false).is_object());
  for (size_t i = 0; i < reset_at; ++i) CHECK(events[i].event != "message");
  std::vector<int64_t> after_reset = old.message_ids();
  CHECK(std::is_sorted(after_reset.begin(), after_reset.end()));
  CHECK(std::adjacent_find(after_reset.begin(), after_reset.end()) == after_reset.end());
  for (int64_t id = 21; id <= 26; ++id) {
    CHECK_MESSAGE(std::count(after_reset.begin(), after_reset.end(), id) == 1, "id " << id);
  }
  for (int64_t id : after_reset) CHECK(id > 2);
  CHECK(old.problems().empty());
  CHECK(metric_value(notify.get("/metrics").body, "relay_resets_total") >= 1.0);
}

TEST_CASE_TEMPLATE(
    "resume: a Last-Event-ID ahead of the newest id gets event reset, then what comes next", Mode,
    OpenMode, AccountsMode, SharedStoreMode) {
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("poster");
  std::vector<int64_t> before = post_many(http, 3, "before-");
  REQUIRE(wait_notify_has(relay.notify_http(), before.back()));

  SseStream ahead(relay.notify_port(), "/events?channels=r",
                  relay.as("", {{"Last-Event-ID", "1000000"}}));
  REQUIRE_MESSAGE(ahead.wait_connected(), ahead.describe());
  REQUIRE_MESSAGE(ahead.wait_until([&] { return ahead.count_events("reset") > 0; }),
                  ahead.describe());

  // The marker is the next real message: it must arrive, although its id is far below 1000000.
  std::vector<int64_t> marker = post_many(http, 1, "marker-");
  REQUIRE_MESSAGE(ahead.wait_message_id(marker.back()), ahead.describe());
  CHECK(compare_ids(ahead.message_ids(), marker) == "");
  CHECK(ahead.count_events("reset") == 1);
  std::vector<SseEvent> events = ahead.events();
  size_t reset_at = events.size();
  for (size_t i = 0; i < events.size() && reset_at == events.size(); ++i) {
    if (events[i].event == "reset") reset_at = i;
  }
  REQUIRE(reset_at < events.size());
  Json reset = Json::parse(events[reset_at].data, nullptr, false);
  REQUIRE(reset.is_object());
  // The stream continues from the newest id there was, not from the id the client claimed.
  CHECK(reset["last_event_id"] == std::to_string(before.back()));
  for (size_t i = 0; i < reset_at; ++i) CHECK(events[i].event != "message");
  CHECK(ahead.problems().empty());
  CHECK(metric_value(relay.notify_http().get("/metrics").body, "relay_resets_total") >= 1.0);
}

TEST_CASE_TEMPLATE(
    "resume: streams resume after a notify-service restart and get every message posted while it "
    "was down",
    Mode, OpenMode, AccountsMode) {  // direct: the forwarder retries while it is down
  ModeRelay relay(Mode{});
  INFO(relay.diagnostics());
  HttpClient http = relay.message_as("poster");

  auto before = std::make_unique<SseStream>(relay.notify_port(), "/events", relay.as());
  REQUIRE(before->wait_connected());
  std::vector<int64_t> early = post_many(http, 3, "early-");
  REQUIRE_MESSAGE(before->wait_messages(3), before->describe());
  REQUIRE(compare_ids(before->message_ids(), early) == "");
  const int64_t last_seen = before->message_ids().back();
  before->stop();

  Millis took{};
  ExitStatus stopped = relay.notify().stop(10s, &took);
  CHECK_MESSAGE(stopped.clean(), stopped.describe());

  std::vector<int64_t> during = post_many(http, 500, "down-");
  CHECK(eventually([&] {
    return metric_value(http.get("/metrics").body, "relay_forward_errors_total") >= 1.0;
  }));

  relay.start_notify();
  SseStream right_away(relay.notify_port(), "/events",
                       relay.as("", {{"Last-Event-ID", std::to_string(last_seen)}}));
  REQUIRE_MESSAGE(right_away.wait_connected(), right_away.describe());
  REQUIRE(wait_notify_has(relay.notify_http(), during.back()));
  SseStream caught_up(relay.notify_port(), "/events?last_event_id=" + std::to_string(last_seen),
                      relay.as());
  REQUIRE_MESSAGE(caught_up.wait_connected(), caught_up.describe());

  for (SseStream* stream : {&right_away, &caught_up}) {
    CHECK_MESSAGE(stream->wait_messages(during.size()), stream->describe());
  }
  std::vector<int64_t> live = post_many(http, 1, "after-");
  const int64_t marker = post_marker(http, "r");
  std::vector<int64_t> expected = concat(concat(during, live), {marker});
  for (SseStream* stream : {&right_away, &caught_up}) {
    CHECK_MESSAGE(stream->wait_message_id(marker), stream->describe());
  }
  for (SseStream* stream : {&right_away, &caught_up}) {
    std::string difference = compare_ids(stream->message_ids(), expected);
    CHECK_MESSAGE(difference.empty(), stream->describe() << ": " << difference);
    CHECK(stream->problems().empty());
  }
  CHECK(eventually([&] {
    Json health = http.get("/health").json();
    return health.is_object() && health["forward_backlog"] == 0 &&
           health["notify_reachable"] == true;
  }));
}

TEST_SUITE_END();

}  // namespace relay::itest
