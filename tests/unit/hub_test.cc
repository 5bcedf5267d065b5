// Unit tests for notify-service's hub (fan-out, ring, backlog cap) and stream sessions.
#include <doctest/doctest.h>

#include <atomic>
#include <thread>

#include "notify-service/hub.h"
#include "notify-service/stream_session.h"
#include "shared/sse.h"

namespace relay {
namespace {

using namespace std::chrono_literals;

Message msg(int64_t id, std::string channel = "general", std::string user = "u",
            std::string to = "") {
  return Message{id,
                 "content " + std::to_string(id),
                 std::move(user),
                 std::move(channel),
                 std::move(to),
                 1700000000000 + id,
                 EventKind::kMessage,
                 0,
                 ""};
}

std::vector<Message> range(int64_t first, int64_t last, std::string channel = "general") {
  std::vector<Message> out;
  for (int64_t id = first; id <= last; ++id) out.push_back(msg(id, channel));
  return out;
}

std::vector<int64_t> ids_of(const Subscriber::Batch& batch) {
  std::vector<int64_t> out;
  for (const auto& e : batch.events) out.push_back(e->message.id);
  return out;
}

Hub::Options small_hub(size_t ring = 100, size_t backlog = 1 << 20, size_t max_subs = 100) {
  Hub::Options options;
  options.ring_size = ring;
  options.max_backlog_bytes = backlog;
  options.max_subscribers = max_subs;
  return options;
}

// Counters for a StreamSession, owned by the test.
struct SessionCounters {
  MetricsRegistry metrics;
  StreamCounters counters{metrics.counter("sent", ""), metrics.counter("hb", ""),
                          metrics.counter("ring", ""), metrics.counter("history", ""),
                          metrics.counter("resets", "")};
};

// Runs a session until `want_messages` message events were produced (or it ends) and parses them.
std::vector<SseEvent> read_session(StreamSession& session, size_t want_messages) {
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& e) { events.push_back(e); });
  size_t messages = 0;
  for (int chunks = 0; chunks < 1000 && messages < want_messages; ++chunks) {
    auto chunk = session.next_chunk();
    if (!chunk) break;
    REQUIRE_FALSE(chunk->empty());
    parser.feed(*chunk);
    messages = 0;
    for (const auto& e : events) messages += e.event == "message";
  }
  return events;
}

std::vector<int64_t> message_ids(const std::vector<SseEvent>& events) {
  std::vector<int64_t> out;
  for (const auto& e : events) {
    if (e.event == "message") out.push_back(std::stoll(e.id));
  }
  return out;
}

}  // namespace

TEST_CASE("hub fans out new messages to matching subscribers and drops duplicate ids") {
  Hub hub(small_hub(), {});
  auto all = hub.subscribe({}, std::nullopt).subscriber;
  auto dev = hub.subscribe({{"dev"}, "", {}}, std::nullopt).subscriber;
  auto bob = hub.subscribe({{"nothing"}, "bob", {}}, std::nullopt).subscriber;
  CHECK(hub.publish({msg(1), msg(2, "dev"), msg(3, "dev", "alice", "bob")}) == 3);
  CHECK(hub.publish({msg(2), msg(3), msg(4)}) == 1);
  CHECK(ids_of(all->wait_for_events(0ms)) == std::vector<int64_t>{1, 2, 4});
  CHECK(ids_of(dev->wait_for_events(0ms)) == std::vector<int64_t>{2});
  CHECK(ids_of(bob->wait_for_events(0ms)) == std::vector<int64_t>{3});
  CHECK(hub.last_id() == 4);
  CHECK(hub.subscriber_count() == 3);
  hub.unsubscribe(dev);
  CHECK(hub.subscriber_count() == 2);
}

TEST_CASE("hub resumes from the ring only when it reaches back") {
  Hub hub(small_hub(/*ring=*/5), {});
  SUBCASE("a hub that has seen nothing sends the subscriber to history") {
    CHECK(hub.subscribe({}, 3).resume == Hub::Resume::kNeedsHistory);
  }
  SUBCASE("the ring covers everything after the first id it saw") {
    hub.publish(range(11, 14));
    auto sub = hub.subscribe({}, 10);
    CHECK(sub.resume == Hub::Resume::kFromRing);
    CHECK(ids_of(sub.subscriber->wait_for_events(0ms)) == std::vector<int64_t>{11, 12, 13, 14});
    CHECK(hub.subscribe({}, 9).resume == Hub::Resume::kNeedsHistory);
  }
  SUBCASE("after eviction the floor moves up") {
    hub.publish(range(1, 8));  // ring holds 4..8
    CHECK(hub.subscribe({}, 3).resume == Hub::Resume::kFromRing);
    CHECK(hub.subscribe({}, 2).resume == Hub::Resume::kNeedsHistory);
    auto sub = hub.subscribe({}, 6);
    CHECK(ids_of(sub.subscriber->wait_for_events(0ms)) == std::vector<int64_t>{7, 8});
  }
  SUBCASE("an id ahead of the hub's newest goes to history, not \"current\" from the ring") {
    hub.publish(range(1, 4));
    CHECK(hub.subscribe({}, 4).resume == Hub::Resume::kFromRing);
    auto ahead = hub.subscribe({}, 5);
    CHECK(ahead.resume == Hub::Resume::kNeedsHistory);
    CHECK(ahead.hub_last_id == 4);
    CHECK(hub.subscribe({}, 9223372036854775807).resume == Hub::Resume::kNeedsHistory);
  }
  SUBCASE("no last_event_id means live only") {
    hub.publish(range(1, 3));
    auto sub = hub.subscribe({}, std::nullopt);
    CHECK(sub.resume == Hub::Resume::kLiveOnly);
    CHECK(sub.subscriber->wait_for_events(0ms).events.empty());
  }
}

TEST_CASE("hub cuts a subscriber whose backlog passes the cap, and only that one") {
  size_t cut_count = 0;
  auto frame_size = make_message_event(msg(1))->frame.size();
  Hub hub(small_hub(100, frame_size * 10), Hub::Stats{[&](size_t n) { cut_count += n; }});
  auto slow = hub.subscribe({}, std::nullopt).subscriber;
  auto fast = hub.subscribe({}, std::nullopt).subscriber;
  for (int64_t id = 1; id <= 30; ++id) {
    hub.publish({msg(id)});
    CHECK(fast->wait_for_events(0ms).events.size() == 1);
  }
  CHECK(slow->was_cut());
  CHECK(cut_count == 1);
  CHECK(hub.subscriber_count() == 1);
  CHECK(slow->wait_for_events(0ms).ended);
}

TEST_CASE("hub accepts one batch larger than the cap into an empty queue, not a second") {
  auto frame_size = make_message_event(msg(1))->frame.size();
  Hub hub(small_hub(100, frame_size * 3), {});
  auto keeping_up = hub.subscribe({}, std::nullopt).subscriber;
  auto behind = hub.subscribe({}, std::nullopt).subscriber;
  hub.publish(range(1, 10));  // ten frames at once: more than the cap, but both queues were empty
  CHECK(ids_of(keeping_up->wait_for_events(0ms)).size() == 10);
  CHECK_FALSE(behind->was_cut());
  hub.publish(range(11, 20));  // `behind` still holds the first batch: now it is cut
  CHECK(behind->was_cut());
  CHECK_FALSE(keeping_up->was_cut());
  CHECK(ids_of(keeping_up->wait_for_events(0ms)).size() == 10);
  CHECK(hub.subscriber_count() == 1);
}

TEST_CASE("hub refuses subscribers past the limit and after shutdown") {
  Hub hub(small_hub(100, 1 << 20, 2), {});
  auto a = hub.subscribe({}, std::nullopt).subscriber;
  auto b = hub.subscribe({}, std::nullopt).subscriber;
  CHECK(a);
  CHECK(b);
  CHECK_FALSE(hub.subscribe({}, std::nullopt).subscriber);
  hub.unsubscribe(a);
  CHECK(hub.subscribe({}, std::nullopt).subscriber);
  hub.shutdown();
  CHECK(b->wait_for_events(10s).ended);
  CHECK_FALSE(hub.subscribe({}, std::nullopt).subscriber);
}

TEST_CASE("hub delivers in order to concurrent subscribers while others come and go") {
  Hub hub(small_hub(1000, 64 << 20, 1000), {});
  constexpr int64_t kMessages = 5000;
  constexpr int kReaders = 6;
  std::vector<std::shared_ptr<Subscriber>> readers;
  for (int i = 0; i < kReaders; ++i) readers.push_back(hub.subscribe({}, std::nullopt).subscriber);
  std::vector<std::vector<int64_t>> received(kReaders);
  std::vector<std::thread> threads;
  for (int i = 0; i < kReaders; ++i) {
    threads.emplace_back([&, i] {
      while (received[i].size() < static_cast<size_t>(kMessages)) {
        auto batch = readers[i]->wait_for_events(5s);
        if (batch.ended) return;
        for (const auto& e : batch.events) received[i].push_back(e->message.id);
      }
    });
  }
  std::atomic<bool> done{false};
  std::thread churn([&] {
    while (!done) {
      auto sub = hub.subscribe({{"general"}, "", {}}, hub.last_id());
      sub.subscriber->wait_for_events(1ms);
      hub.unsubscribe(sub.subscriber);
    }
  });
  for (int64_t id = 1; id <= kMessages; id += 10) hub.publish(range(id, id + 9));
  for (auto& t : threads) t.join();
  done = true;
  churn.join();
  for (const auto& ids : received) {
    REQUIRE(ids.size() == static_cast<size_t>(kMessages));
    for (size_t k = 0; k < ids.size(); ++k) CHECK(ids[k] == static_cast<int64_t>(k + 1));
  }
}

TEST_CASE("stream session greets, replays history page by page, then goes live without repeats") {
  Hub hub(small_hub(/*ring=*/3), {});
  hub.publish(range(1, 20));  // the ring holds only 18..20
  std::vector<int64_t> asked_after;
  HistoryFetch fetch = [&](const MessageFilter&, int64_t after, int limit) {
    asked_after.push_back(after);
    std::vector<Message> page;
    for (int64_t id = after + 1; id <= 20 && static_cast<int>(page.size()) < limit; ++id) {
      page.push_back(msg(id));
    }
    return std::optional(page);
  };
  SessionCounters counters;
  StreamOptions options;
  options.history_page_size = 4;
  options.retry_ms = 1234;
  auto subscription = hub.subscribe({}, 5);
  REQUIRE(subscription.resume == Hub::Resume::kNeedsHistory);
  hub.publish(range(21, 22));  // arrives while the history is being read
  StreamSession session(hub, subscription, 5, "c1", options, fetch, counters.counters);
  auto events = read_session(session, 17);
  REQUIRE(events.size() >= 2);
  CHECK(events[0].event == "connected");
  CHECK(events[0].data.find("\"client_id\":\"c1\"") != std::string::npos);
  CHECK(events[0].data.find("\"resume\":\"history\"") != std::string::npos);
  std::vector<int64_t> expected;
  for (int64_t id = 6; id <= 22; ++id) expected.push_back(id);
  CHECK(message_ids(events) == expected);
  CHECK(asked_after == std::vector<int64_t>{5, 9, 13, 17});
  CHECK(counters.metrics.counter("history", "").value() == 1);
  CHECK(session.last_sent_id() == 22);
}

TEST_CASE("stream session pages past history it may not show instead of asking again") {
  Hub hub(small_hub(), {});
  // A history source that ignores the filter: full pages of another channel, then one match.
  HistoryFetch fetch = [](const MessageFilter&, int64_t after, int limit) {
    std::vector<Message> page;
    for (int64_t id = after + 1; id <= 9 && static_cast<int>(page.size()) < limit; ++id) {
      page.push_back(msg(id, id == 9 ? "mine" : "other"));
    }
    return std::optional(page);
  };
  SessionCounters counters;
  StreamOptions options;
  options.history_page_size = 2;
  MessageFilter mine{{"mine"}, "", {}};
  StreamSession session(hub, hub.subscribe(mine, 0), 0, "c", options, fetch, counters.counters);
  auto events = read_session(session, 1);
  CHECK(message_ids(events) == std::vector<int64_t>{9});
}

TEST_CASE("stream session says reset when history is unreachable, then sends what the ring has") {
  Hub hub(small_hub(/*ring=*/3), {});
  hub.publish(range(1, 10));
  HistoryFetch unreachable = [](const MessageFilter&, int64_t, int) {
    return std::optional<std::vector<Message>>();
  };
  SessionCounters counters;
  StreamSession session(hub, hub.subscribe({}, 2), 2, "c", StreamOptions{}, unreachable,
                        counters.counters);
  auto events = read_session(session, 3);
  REQUIRE(events.size() == 5);
  CHECK(events[1].event == "reset");
  CHECK_FALSE(events[1].has_id);
  CHECK(events[1].data.find("\"last_event_id\":\"2\"") != std::string::npos);
  CHECK(message_ids(events) == std::vector<int64_t>{8, 9, 10});
  CHECK(counters.metrics.counter("resets", "").value() == 1);
}

TEST_CASE(
    "stream session: a Last-Event-ID above the store's newest gets reset, then what follows") {
  Hub hub(small_hub(/*ring=*/10), {});
  hub.publish(range(1, 3));
  std::vector<int64_t> asked_after;
  HistoryFetch store_of_three = [&](const MessageFilter&, int64_t after,
                                    int) -> std::optional<HistoryPage> {
    asked_after.push_back(after);
    return HistoryPage({}, 3);
  };
  SessionCounters counters;
  auto subscription = hub.subscribe({}, 1000000);
  REQUIRE(subscription.resume == Hub::Resume::kNeedsHistory);
  StreamSession session(hub, subscription, 1000000, "c", StreamOptions{}, store_of_three,
                        counters.counters);
  REQUIRE(session.needs_history());
  auto greeting = session.next_chunk();
  REQUIRE(greeting);
  auto reset = session.next_chunk();
  REQUIRE(reset);
  CHECK(reset->find("event: reset\n") != std::string::npos);
  CHECK(reset->find("\"reason\":\"ahead_of_store\"") != std::string::npos);
  CHECK(reset->find("\"last_event_id\":\"3\"") != std::string::npos);
  CHECK(session.live());
  CHECK(session.last_sent_id() == 3);
  CHECK(asked_after == std::vector<int64_t>{1000000});
  CHECK(counters.metrics.counter("resets", "").value() == 1);
  // The next real message is delivered, not skipped as "already seen".
  hub.publish({msg(4)});
  auto next = session.next_chunk();
  REQUIRE(next);
  CHECK(next->rfind("id: 4\n", 0) == 0);
}

TEST_CASE(
    "stream session: a Last-Event-ID the hub has not seen yet but the store has is replayed") {
  Hub hub(small_hub(/*ring=*/10), {});
  hub.publish(range(1, 3));  // the hub lags: the store already holds 1..8
  HistoryFetch store_of_eight = [](const MessageFilter&, int64_t after,
                                   int limit) -> std::optional<HistoryPage> {
    std::vector<Message> page;
    for (int64_t id = after + 1; id <= 8 && static_cast<int>(page.size()) < limit; ++id) {
      page.push_back(msg(id));
    }
    return HistoryPage(std::move(page), 8);
  };
  SessionCounters counters;
  StreamSession session(hub, hub.subscribe({}, 5), 5, "c", StreamOptions{}, store_of_eight,
                        counters.counters);
  hub.publish(range(4, 9));  // the forwarder catches up; 9 is new
  auto events = read_session(session, 4);
  CHECK(message_ids(events) == std::vector<int64_t>{6, 7, 8, 9});
  for (const auto& e : events) CHECK(e.event != "reset");
  CHECK(counters.metrics.counter("resets", "").value() == 0);
}

TEST_CASE(
    "stream session: an id ahead of the hub that history cannot confirm resets to the hub's") {
  Hub hub(small_hub(/*ring=*/10), {});
  hub.publish(range(1, 3));
  SUBCASE("history unreachable") {
    HistoryFetch unreachable = [](const MessageFilter&, int64_t, int) {
      return std::optional<HistoryPage>();
    };
    SessionCounters counters;
    StreamSession session(hub, hub.subscribe({}, 1000), 1000, "c", StreamOptions{}, unreachable,
                          counters.counters);
    REQUIRE(session.next_chunk());
    auto reset = session.next_chunk();
    REQUIRE(reset);
    CHECK(reset->find("\"reason\":\"history_unavailable\"") != std::string::npos);
    CHECK(reset->find("\"last_event_id\":\"3\"") != std::string::npos);
    hub.publish({msg(4)});
    auto next = session.next_chunk();
    REQUIRE(next);
    CHECK(next->rfind("id: 4\n", 0) == 0);
  }
  SUBCASE("an older message-service that does not say its newest id") {
    HistoryFetch no_last_id = [](const MessageFilter&, int64_t, int) {
      return std::optional<std::vector<Message>>(std::vector<Message>{});
    };
    SessionCounters counters;
    StreamSession session(hub, hub.subscribe({}, 1000), 1000, "c", StreamOptions{}, no_last_id,
                          counters.counters);
    REQUIRE(session.next_chunk());
    auto reset = session.next_chunk();
    REQUIRE(reset);
    CHECK(reset->find("event: reset\n") != std::string::npos);
    CHECK(reset->find("\"last_event_id\":\"3\"") != std::string::npos);
    CHECK(counters.metrics.counter("resets", "").value() == 1);
    hub.publish({msg(4)});
    auto next = session.next_chunk();
    REQUIRE(next);
    CHECK(next->rfind("id: 4\n", 0) == 0);
  }
}

TEST_CASE("stream session returns empty after max_wait so the transport can check its peer") {
  Hub hub(small_hub(), {});
  SessionCounters counters;
  StreamSession session(hub, hub.subscribe({}, std::nullopt), std::nullopt, "c", StreamOptions{},
                        nullptr, counters.counters);
  REQUIRE(session.next_chunk(5ms));  // the greeting comes at once
  CHECK(session.next_chunk(5ms) == std::optional<std::string>(""));
  hub.publish({msg(1)});
  auto live = session.next_chunk(5ms);
  REQUIRE(live);
  CHECK(live->rfind("id: 1\n", 0) == 0);
  CHECK(counters.metrics.counter("hb", "").value() == 0);
}

TEST_CASE("stream session sends heartbeats when idle and ends when the hub stops") {
  Hub hub(small_hub(), {});
  SessionCounters counters;
  StreamOptions options;
  options.heartbeat = 20ms;
  StreamSession session(hub, hub.subscribe({}, std::nullopt), std::nullopt, "c", options, nullptr,
                        counters.counters);
  auto greeting = session.next_chunk();
  REQUIRE(greeting);
  CHECK(greeting->rfind("retry: 2000\n\n", 0) == 0);
  CHECK(session.next_chunk() == std::optional<std::string>(": ping\n\n"));
  hub.publish({msg(1)});
  auto live = session.next_chunk();
  REQUIRE(live);
  CHECK(live->rfind("id: 1\nevent: message\ndata: {", 0) == 0);
  hub.shutdown();
  CHECK_FALSE(session.next_chunk());
}

}  // namespace relay
