#include "bench/load/server_dialect.h"

#include <vector>

#include <doctest/doctest.h>

namespace relay::load {
namespace {

// Feeds `bytes` to a parser and returns the events it dispatched.
std::vector<SseEvent> parse_all(std::string_view bytes) {
  std::vector<SseEvent> events;
  SseParser parser([&events](const SseEvent& event) { events.push_back(event); });
  parser.feed(bytes);
  return events;
}

TEST_CASE("subscribe_request asks relay for a numbered client and nchan for its location") {
  std::string relay = subscribe_request(Target::kRelay, 8081, "/ignored", 7);
  CHECK(relay.rfind("GET /events?client_id=load-7 HTTP/1.1\r\nHost: 127.0.0.1:8081\r\n", 0) == 0);
  std::string nchan = subscribe_request(Target::kNchan, 9000, "/sub/bench", 7);
  CHECK(nchan.rfind("GET /sub/bench HTTP/1.1\r\nHost: 127.0.0.1:9000\r\n", 0) == 0);
  CHECK(nchan.find("Accept: text/event-stream\r\n") != std::string::npos);
  CHECK(nchan.substr(nchan.size() - 4) == "\r\n\r\n");
  CHECK(opens_on_first_bytes(Target::kNchan));
  CHECK_FALSE(opens_on_first_bytes(Target::kRelay));
}

TEST_CASE("an nchan EventSource body yields its published bodies as load stamps, in id order") {
  // The bytes nchan sends after its headers: a comment, then id + data per message.
  auto events = parse_all(
      ": hi\n\n"
      "id: 1795456700:9\ndata: s=4 t=1000\n\n"
      "id: 1795456700:10\ndata: s=2 t=2000\n\n"
      "id: 1795456701:0\ndata: s=3 t=3000\n\n");
  REQUIRE(events.size() == 3);
  std::vector<uint64_t> seqs;
  std::vector<uint64_t> order;
  for (const SseEvent& event : events) {
    CHECK(event.event == "message");  // nchan sends no `event:` line
    auto stamp = stamp_of(Target::kNchan, event);
    REQUIRE(stamp);
    seqs.push_back(stamp->seq);
    auto key = server_order_of(Target::kNchan, event);
    REQUIRE(key);
    order.push_back(*key);
  }
  CHECK(seqs == std::vector<uint64_t>{4, 2, 3});
  CHECK(events[1].data == "s=2 t=2000");
  // Numeric within a second (10 after 9), then the next second after any index.
  CHECK(order[0] < order[1]);
  CHECK(order[1] < order[2]);
}

TEST_CASE("stamp_of reads relay's JSON content and refuses the other server's form") {
  SseEvent relay_event;
  relay_event.data = R"({"content":"s=5 t=99","id":"3","type":"message"})";
  relay_event.id = std::string("3");  // not `= "3"`: GCC 12 -O3 false -Wrestrict
  relay_event.has_id = true;
  auto stamp = stamp_of(Target::kRelay, relay_event);
  REQUIRE(stamp);
  CHECK(stamp->seq == 5);
  CHECK(stamp->sent_ns == 99);
  CHECK(server_order_of(Target::kRelay, relay_event) == 3);
  CHECK_FALSE(stamp_of(Target::kNchan, relay_event));

  SseEvent nchan_event;
  nchan_event.data = "s=5 t=99";
  CHECK_FALSE(stamp_of(Target::kRelay, nchan_event));
  CHECK_FALSE(server_order_of(Target::kNchan, nchan_event));  // no id
  nchan_event.data = "s=5 t=99 ";
  CHECK_FALSE(stamp_of(Target::kNchan, nchan_event));
  nchan_event.data = "two\nlines";
  CHECK_FALSE(stamp_of(Target::kNchan, nchan_event));
}

TEST_CASE("parse_nchan_event_id takes <seconds>:<index> and nothing else") {
  CHECK(parse_nchan_event_id("1795456700:0") == (uint64_t{1795456700} << 32));
  CHECK(parse_nchan_event_id("1:2") == ((uint64_t{1} << 32) | 2));
  CHECK_FALSE(parse_nchan_event_id(""));
  CHECK_FALSE(parse_nchan_event_id("17"));
  CHECK_FALSE(parse_nchan_event_id(":1"));
  CHECK_FALSE(parse_nchan_event_id("1:"));
  CHECK_FALSE(parse_nchan_event_id("1:-2"));
  CHECK_FALSE(parse_nchan_event_id("1:2:3"));
  CHECK_FALSE(parse_nchan_event_id("1795456700:[0],1795456700:[1]"));
  CHECK_FALSE(parse_nchan_event_id("99999999999:0"));  // seconds beyond 32 bits
}

}  // namespace
}  // namespace relay::load
