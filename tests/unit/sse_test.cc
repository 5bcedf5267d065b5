// Unit tests of shared/sse.h: event framing and the incremental reader.

#include "shared/sse.h"

#include <random>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace relay {
namespace {

// Everything one SseParser produced.
struct Parsed {
  std::vector<SseEvent> events;
  std::string last_event_id;
  int retry_ms = -1;
  size_t comments = 0;
};

// Feeds `chunks` in order to a fresh parser.
Parsed parse_chunks(const std::vector<std::string>& chunks) {
  Parsed out;
  SseParser parser([&out](const SseEvent& event) { out.events.push_back(event); });
  for (const auto& chunk : chunks) parser.feed(chunk);
  out.last_event_id = parser.last_event_id();
  out.retry_ms = parser.retry_ms();
  out.comments = parser.comment_count();
  return out;
}

Parsed parse_all(const std::string& text) {
  return parse_chunks({text});
}

std::vector<std::string> bytes_of(const std::string& text) {
  std::vector<std::string> chunks;
  for (char c : text) chunks.emplace_back(1, c);
  return chunks;
}

void check_same(const Parsed& got, const Parsed& expected) {
  REQUIRE(got.events.size() == expected.events.size());
  for (size_t i = 0; i < got.events.size(); ++i) {
    CAPTURE(i);
    CHECK(got.events[i].id == expected.events[i].id);
    CHECK(got.events[i].has_id == expected.events[i].has_id);
    CHECK(got.events[i].event == expected.events[i].event);
    CHECK(got.events[i].data == expected.events[i].data);
  }
  CHECK(got.last_event_id == expected.last_event_id);
  CHECK(got.retry_ms == expected.retry_ms);
  CHECK(got.comments == expected.comments);
}

// A stream like notify-service writes: retry, connected, messages, heartbeats.
std::string sample_stream(const std::string& line_end) {
  std::string text = sse_retry(1500) + sse_event("", "connected", R"({"client_id":"c1"})") +
                     sse_comment("ping") +
                     sse_event("1", "message", R"({"id":"1","content":"caf\u00e9"})") +
                     sse_event("2", "message", "multi\nline \xF0\x9F\x8E\x89 data") +
                     sse_comment("ping") + sse_event("3", "reset", "{}");
  if (line_end == "\n") return text;
  std::string converted;
  for (char c : text) {
    if (c == '\n') {
      converted += line_end;
    } else {
      converted.push_back(c);
    }
  }
  return converted;
}

}  // namespace

TEST_SUITE_BEGIN("sse");

TEST_CASE("sse: sse_event frames id, event and data") {
  CHECK(sse_event("1", "message", "hello") == "id: 1\nevent: message\ndata: hello\n\n");
  CHECK(sse_event("", "connected", "{}") == "event: connected\ndata: {}\n\n");
  CHECK(sse_event("7", "", "x") == "id: 7\ndata: x\n\n");
  CHECK(sse_event("", "", "x") == "data: x\n\n");
  CHECK(sse_event("", "", "") == "data: \n\n");
}

TEST_CASE("sse: multi-line data becomes one data line per line, whatever the line ends") {
  CHECK(sse_event("", "m", "a\nb") == "event: m\ndata: a\ndata: b\n\n");
  CHECK(sse_event("", "m", "a\r\nb") == "event: m\ndata: a\ndata: b\n\n");
  CHECK(sse_event("", "m", "a\rb") == "event: m\ndata: a\ndata: b\n\n");
  CHECK(sse_event("", "m", "a\n\nb") == "event: m\ndata: a\ndata: \ndata: b\n\n");
  CHECK(sse_event("", "m", "a\r\n") == "event: m\ndata: a\ndata: \n\n");
  CHECK(sse_event("", "m", "\n") == "event: m\ndata: \ndata: \n\n");
  CHECK(sse_event("", "m", "a\r\rb") == "event: m\ndata: a\ndata: \ndata: b\n\n");
}

TEST_CASE("sse: UTF-8 payloads pass through unchanged") {
  const std::string data = "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x8E\x89";
  CHECK(sse_event("5", "message", data) == "id: 5\nevent: message\ndata: " + data + "\n\n");
  Parsed parsed = parse_chunks(bytes_of(sse_event("5", "message", data)));
  REQUIRE(parsed.events.size() == 1);
  CHECK(parsed.events[0].data == data);
}

TEST_CASE("sse: comments and retry") {
  CHECK(sse_comment("ping") == ": ping\n\n");
  CHECK(sse_retry(2000) == "retry: 2000\n\n");
}

TEST_CASE("sse: what sse_event writes, the parser reads back with LF line ends") {
  const std::pair<std::string, std::string> cases[] = {
      {"plain", "plain"},
      {"a\nb", "a\nb"},
      {"a\r\nb", "a\nb"},
      {"a\rb", "a\nb"},
      {"a\n\nb", "a\n\nb"},
      {"trailing\n", "trailing\n"},
      {"", ""},
      {"a\r\n\r\nb", "a\n\nb"},
      {":not a comment", ":not a comment"},
      {"data: nested", "data: nested"},
  };
  for (const auto& [data, expected] : cases) {
    CAPTURE(data);
    Parsed parsed = parse_all(sse_event("9", "message", data));
    REQUIRE(parsed.events.size() == 1);
    CHECK(parsed.events[0].data == expected);
    CHECK(parsed.events[0].id == "9");
    CHECK(parsed.events[0].has_id);
    CHECK(parsed.events[0].event == "message");
  }
}

TEST_CASE("sse: the parser reads a whole stream") {
  Parsed parsed = parse_all(sample_stream("\n"));
  REQUIRE(parsed.events.size() == 4);
  CHECK(parsed.events[0].event == "connected");
  CHECK_FALSE(parsed.events[0].has_id);
  CHECK(parsed.events[0].id == "");
  CHECK(parsed.events[0].data == R"({"client_id":"c1"})");
  CHECK(parsed.events[1].event == "message");
  CHECK(parsed.events[1].id == "1");
  CHECK(parsed.events[1].data == R"({"id":"1","content":"caf\u00e9"})");
  CHECK(parsed.events[2].id == "2");
  CHECK(parsed.events[2].data == "multi\nline \xF0\x9F\x8E\x89 data");
  CHECK(parsed.events[3].event == "reset");
  CHECK(parsed.last_event_id == "3");
  CHECK(parsed.retry_ms == 1500);
  CHECK(parsed.comments == 2);
}

TEST_CASE("sse: any chunking gives the same events") {
  const std::string text = sample_stream("\n");
  const Parsed whole = parse_all(text);
  check_same(parse_chunks(bytes_of(text)), whole);
  for (size_t split = 0; split <= text.size(); ++split) {
    CAPTURE(split);
    check_same(parse_chunks({text.substr(0, split), text.substr(split)}), whole);
  }
  std::mt19937 random(12345);
  for (int round = 0; round < 200; ++round) {
    std::vector<std::string> chunks;
    size_t at = 0;
    while (at < text.size()) {
      size_t size = std::uniform_int_distribution<size_t>(0, 9)(random);
      chunks.push_back(text.substr(at, size));
      at += size;
    }
    check_same(parse_chunks(chunks), whole);
  }
}

TEST_CASE("sse: CRLF and CR line ends read like LF, in any chunking") {
  const Parsed expected = parse_all(sample_stream("\n"));
  for (const char* line_end : {"\r\n", "\r"}) {
    const std::string text = sample_stream(line_end);
    check_same(parse_all(text), expected);
    check_same(parse_chunks(bytes_of(text)), expected);
    for (size_t split = 0; split <= text.size(); ++split) {
      check_same(parse_chunks({text.substr(0, split), text.substr(split)}), expected);
    }
  }
}

TEST_CASE("sse: a CRLF split across chunks is one line end") {
  Parsed parsed = parse_chunks({"data: a\r", "\ndata: b\r", "\n\r", "\n"});
  REQUIRE(parsed.events.size() == 1);
  CHECK(parsed.events[0].data == "a\nb");
}

TEST_CASE("sse: field parsing details") {
  SUBCASE("no space after the colon, and only one space removed") {
    Parsed parsed = parse_all("data:x\ndata:  two\n\n");
    REQUIRE(parsed.events.size() == 1);
    CHECK(parsed.events[0].data == "x\n two");
  }
  SUBCASE("a field name alone has an empty value") {
    Parsed parsed = parse_all("data\n\n");
    REQUIRE(parsed.events.size() == 1);
    CHECK(parsed.events[0].data == "");
  }
  SUBCASE("unknown fields are ignored") {
    Parsed parsed = parse_all("foo: bar\ndata: x\nbaz\n\n");
    REQUIRE(parsed.events.size() == 1);
    CHECK(parsed.events[0].data == "x");
    CHECK(parsed.events[0].event == "message");
  }
  SUBCASE("an event without data is not dispatched and does not leak its type") {
    Parsed parsed = parse_all("event: lonely\n\ndata: y\n\n");
    REQUIRE(parsed.events.size() == 1);
    CHECK(parsed.events[0].event == "message");
    CHECK(parsed.events[0].data == "y");
  }
  SUBCASE("an incomplete event at the end is not dispatched") {
    Parsed parsed = parse_all("data: complete\n\ndata: partial\n");
    REQUIRE(parsed.events.size() == 1);
    CHECK(parsed.events[0].data == "complete");
  }
  SUBCASE("the last event id persists across events without an id line") {
    Parsed parsed = parse_all("id: 9\ndata: a\n\ndata: b\n\n");
    REQUIRE(parsed.events.size() == 2);
    CHECK(parsed.events[0].has_id);
    CHECK(parsed.events[0].id == "9");
    CHECK_FALSE(parsed.events[1].has_id);
    CHECK(parsed.last_event_id == "9");
  }
  SUBCASE("an id containing NUL is ignored") {
    Parsed parsed = parse_all(std::string("id: 4\ndata: a\n\nid: 5\0x\ndata: b\n\n", 32));
    REQUIRE(parsed.events.size() == 2);
    CHECK(parsed.last_event_id == "4");
    CHECK_FALSE(parsed.events[1].has_id);
  }
  SUBCASE("retry takes only digits") {
    CHECK(parse_all("retry: 3000\n").retry_ms == 3000);
    CHECK(parse_all("retry: 3000\nretry: soon\n").retry_ms == 3000);
    CHECK(parse_all("retry: 12ms\n").retry_ms == -1);
    CHECK(parse_all("").retry_ms == -1);
  }
  SUBCASE("comment lines are counted, with or without a blank line") {
    Parsed parsed = parse_all(": ping\n\n:\n: x\ndata: d\n\n");
    CHECK(parsed.comments == 3);
    REQUIRE(parsed.events.size() == 1);
    CHECK(parsed.events[0].data == "d");
  }
}

TEST_SUITE_END();

}  // namespace relay
