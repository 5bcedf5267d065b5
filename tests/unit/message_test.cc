// Unit tests of shared/message.h: the wire form of a message and who may see it.

#include "shared/message.h"

#include <string>

#include <doctest/doctest.h>

namespace relay {
namespace {

Message channel_message(std::string channel) {
  return Message{1, "hello", "carol", std::move(channel), "", 0, EventKind::kMessage, 0, ""};
}

Message direct_message(std::string from, std::string to, std::string channel = "general") {
  return Message{
      2, "psst", std::move(from), std::move(channel), std::move(to), 0, EventKind::kMessage, 0, ""};
}

MessageFilter filter(std::vector<std::string> channels, std::string user = "") {
  return MessageFilter{std::move(channels), std::move(user), {}};
}

// Parses `value`, failing the test when message_from_json refuses it.
Message parse_ok(const nlohmann::json& value) {
  std::string error;
  auto message = message_from_json(value, &error);
  REQUIRE_MESSAGE(message.has_value(), "refused " << value.dump() << ": " << error);
  return *message;
}

// The error message_from_json gives for `value`; fails the test when it accepts it.
std::string parse_error(const nlohmann::json& value) {
  std::string error;
  auto message = message_from_json(value, &error);
  REQUIRE_MESSAGE(!message.has_value(), "accepted " << value.dump());
  CHECK_FALSE(error.empty());
  return error;
}

}  // namespace

TEST_SUITE_BEGIN("message");

TEST_CASE("message: a channel message is visible to readers of that channel or of every channel") {
  Message message = channel_message("a");
  CHECK(filter({}).matches(message));
  CHECK(filter({"a"}).matches(message));
  CHECK(filter({"b", "a"}).matches(message));
  CHECK_FALSE(filter({"b"}).matches(message));
  CHECK_FALSE(filter({"ab"}).matches(message));
  // A user name does not widen or narrow channel messages.
  CHECK(filter({}, "alice").matches(message));
  CHECK_FALSE(filter({"b"}, "carol").matches(message));
}

TEST_CASE("message: a direct message is visible only to its sender and recipient") {
  Message message = direct_message("alice", "bob", "a");
  CHECK(filter({}, "alice").matches(message));
  CHECK(filter({}, "bob").matches(message));
  CHECK_FALSE(filter({}, "carol").matches(message));
  CHECK_FALSE(filter({}).matches(message));
  CHECK_FALSE(filter({"a"}).matches(message));
  // Whatever the channel list says.
  CHECK(filter({"b"}, "bob").matches(message));
  CHECK(filter({"a"}, "alice").matches(message));
  CHECK_FALSE(filter({"a"}, "carol").matches(message));
  // Names are compared exactly.
  CHECK_FALSE(filter({}, "Bob").matches(message));
  CHECK_FALSE(filter({}, "bo").matches(message));
}

TEST_CASE("message: message_to_json writes the wire form") {
  Message message{42, "hi there", "alice", "general", "", 1700000000123, EventKind::kMessage,
                  0,  ""};
  CHECK(message_to_json(message) == nlohmann::json{{"id", "42"},
                                                   {"content", "hi there"},
                                                   {"user", "alice"},
                                                   {"channel", "general"},
                                                   {"timestamp", "2023-11-14T22:13:20.123Z"}});
  CHECK_FALSE(message_to_json(message).contains("to"));
  message.to = "bob";
  CHECK(message_to_json(message)["to"] == "bob");
  CHECK(message_to_json(Message{9007199254740993, "x", "u", "c", "", 0, EventKind::kMessage, 0,
                                ""})["id"] == "9007199254740993");
}

TEST_CASE("message: message_from_json reads back what message_to_json wrote") {
  const Message originals[] = {
      {1, "hello", "anonymous", "general", "", 0, EventKind::kMessage, 0, ""},
      {7, "caf\xC3\xA9 \xF0\x9F\x8E\x89\nsecond line\r\n\"quoted\" \\", "Zo\xC3\xAB", "dev-1.x",
       "bob", 1700000000123, EventKind::kMessage, 0, ""},
      {INT64_MAX, std::string(16384, 'x'), "u", "c", "", 253402300799999, EventKind::kMessage, 0,
       ""},
  };
  for (const Message& original : originals) {
    Message copy = parse_ok(message_to_json(original));
    CHECK(copy.id == original.id);
    CHECK(copy.content == original.content);
    CHECK(copy.user == original.user);
    CHECK(copy.channel == original.channel);
    CHECK(copy.to == original.to);
    CHECK(copy.timestamp_ms == original.timestamp_ms);
    // And through text, as it travels.
    Message from_text = parse_ok(nlohmann::json::parse(dump_json(message_to_json(original))));
    CHECK(from_text.content == original.content);
    CHECK(from_text.id == original.id);
  }
}

TEST_CASE("message: message_from_json accepts numeric ids and timestamps without milliseconds") {
  nlohmann::json value = {{"id", 12},
                          {"content", "c"},
                          {"user", "u"},
                          {"channel", "g"},
                          {"timestamp", "2023-11-14T22:13:20Z"}};
  Message message = parse_ok(value);
  CHECK(message.id == 12);
  CHECK(message.timestamp_ms == 1700000000000);
  CHECK(message.to.empty());
}

TEST_CASE("message: message_from_json refuses malformed messages") {
  const nlohmann::json good = {{"id", "5"},
                               {"content", "c"},
                               {"user", "u"},
                               {"channel", "g"},
                               {"timestamp", "2023-11-14T22:13:20.123Z"}};
  parse_ok(good);
  parse_error(nlohmann::json::array({good}));
  parse_error("text");
  parse_error(nullptr);
  for (const nlohmann::json& bad_id :
       {nlohmann::json("0"), nlohmann::json("-3"), nlohmann::json("abc"), nlohmann::json("12a"),
        nlohmann::json(""), nlohmann::json(0), nlohmann::json(-4), nlohmann::json(1.5),
        nlohmann::json(nullptr), nlohmann::json("99999999999999999999")}) {
    CAPTURE(bad_id.dump());
    nlohmann::json value = good;
    value["id"] = bad_id;
    CHECK(parse_error(value).find("id") != std::string::npos);
  }
  for (const char* field : {"id", "content", "user", "channel", "timestamp"}) {
    CAPTURE(field);
    nlohmann::json value = good;
    value.erase(field);
    CHECK(parse_error(value).find(field) != std::string::npos);
  }
  for (const char* field : {"content", "user", "channel", "to", "timestamp"}) {
    CAPTURE(field);
    nlohmann::json value = good;
    value[field] = 5;
    CHECK(parse_error(value).find(field) != std::string::npos);
  }
  for (const char* timestamp :
       {"yesterday", "2023-11-14 22:13:20Z", "2023-11-14T22:13:20.123",
        "2023-11-14T22:13:20.123+01:00", "2023-11-14T22:13:20.12Z", "2023-11-14T22:13:20.1a3Z",
        // Found by fuzz_message_json: fields out of range were normalised (this one into year
        // 10007), and the timestamp written back could not be read again.
        "9999-99-99T99:99:99.999Z", "2023-13-01T00:00:00Z", "2023-02-29T00:00:00Z",
        "2023-04-31T00:00:00Z", "2023-11-14T24:00:00Z", "2023-11-14T22:60:00Z",
        "2023-11-14T22:13:60Z", "2023-00-10T00:00:00Z", "2023-11-00T00:00:00Z",
        "-999-11-14T22:13:20Z", "+2023-11-14T22:13:20Z", "2023-1-14T22:13:20Z",
        " 2023-11-14T22:13:20Z", "2023-11-14T22:13:20.123Z ", "2023-11-14T22:13:20.1234Z"}) {
    CAPTURE(timestamp);
    nlohmann::json value = good;
    value["timestamp"] = timestamp;
    CHECK(parse_error(value).find("timestamp") != std::string::npos);
  }
}

TEST_CASE("message: every timestamp message_from_json accepts is written back as it was read") {
  for (const char* timestamp : {"2024-02-29T23:59:59.999Z", "0000-01-01T00:00:00.000Z",
                                "9999-12-31T23:59:59.999Z", "1970-01-01T00:00:00.000Z"}) {
    CAPTURE(timestamp);
    nlohmann::json value = {
        {"id", "1"}, {"content", "x"}, {"user", "u"}, {"channel", "c"}, {"timestamp", timestamp}};
    std::string error;
    auto message = message_from_json(value, &error);
    REQUIRE_MESSAGE(message, error);
    CHECK(message_to_json(*message)["timestamp"] == timestamp);
  }
}

TEST_CASE("message: dump_json never throws on invalid UTF-8") {
  CHECK(dump_json(nlohmann::json{{"a", "b"}}) == R"({"a":"b"})");
  CHECK(dump_json(nlohmann::json("caf\xC3\xA9")) == "\"caf\xC3\xA9\"");
  std::string dumped;
  CHECK_NOTHROW(dumped = dump_json(nlohmann::json("bad\xFF")));
  CHECK(dumped == "\"bad\xEF\xBF\xBD\"");
}

TEST_CASE("message: receipts and typing round-trip through the wire form, presence is written") {
  Message receipt;
  receipt.kind = EventKind::kReceipt;
  receipt.id = 12;
  receipt.message_id = 7;
  receipt.user = "bob";
  receipt.status = "read";
  receipt.channel = "general";
  receipt.to = "alice";
  receipt.timestamp_ms = 1700000000123;
  auto wire = message_to_json(receipt);
  CHECK(wire["type"] == "receipt");
  CHECK(wire["message_id"] == "7");
  CHECK_FALSE(wire.contains("content"));
  Message copy = parse_ok(wire);
  CHECK(copy.kind == EventKind::kReceipt);
  CHECK(copy.id == 12);
  CHECK(copy.message_id == 7);
  CHECK(copy.status == "read");
  CHECK(copy.to == "alice");

  Message typing;
  typing.kind = EventKind::kTyping;
  typing.user = "alice";
  typing.to = "bob";
  typing.timestamp_ms = 1;
  wire = message_to_json(typing);
  CHECK_FALSE(wire.contains("id"));
  CHECK_FALSE(wire.contains("channel"));
  copy = parse_ok(wire);
  CHECK(copy.kind == EventKind::kTyping);
  CHECK(copy.id == 0);
  CHECK(copy.to == "bob");

  Message presence;
  presence.kind = EventKind::kPresence;
  presence.user = "carol";
  presence.status = "join";
  wire = message_to_json(presence);
  CHECK(wire["channel"].is_null());
  CHECK(wire["state"] == "join");
  CHECK(filter({"dev"}, "").matches(presence));  // every-channel presence reaches every stream
  presence.channel = "ops";
  CHECK_FALSE(filter({"dev"}, "").matches(presence));
}

TEST_CASE("message: message_from_json refuses bad receipts and typing") {
  std::string error;
  auto bad = [&error](const char* text) {
    error.clear();
    return !message_from_json(nlohmann::json::parse(text), &error) && !error.empty();
  };
  CHECK(bad(
      R"({"type":"note","id":"1","content":"x","user":"u","channel":"c","timestamp":"2026-01-01T00:00:00Z"})"));
  CHECK(bad(
      R"({"type":"receipt","id":"2","message_id":"1","user":"u","status":"seen","channel":"c","timestamp":"2026-01-01T00:00:00Z"})"));
  CHECK(bad(
      R"({"type":"receipt","id":"2","user":"u","status":"read","channel":"c","timestamp":"2026-01-01T00:00:00Z"})"));
  CHECK(bad(R"({"type":"typing","user":"u","timestamp":"2026-01-01T00:00:00Z"})"));
  CHECK(bad(R"({"type":"presence","user":"u","channel":"c","timestamp":"2026-01-01T00:00:00Z"})"));
}

TEST_CASE("message: content on a receipt or typing is not read, so it reads back the same") {
  // Found by fuzz_notify_batch: a receipt with "content" kept it, though no wire form of a receipt
  // carries it, so the event written back read as a different one.
  std::string error;
  auto receipt = message_from_json(
      nlohmann::json::parse(
          R"({"type":"receipt","id":"4","content":"m","message_id":"4","user":"u","status":"read","channel":"c","timestamp":"2026-01-01T00:00:00Z"})"),
      &error);
  REQUIRE(receipt.has_value());
  CHECK(receipt->content.empty());
  auto typing = message_from_json(
      nlohmann::json::parse(
          R"({"type":"typing","content":7,"user":"u","channel":"c","timestamp":"2026-01-01T00:00:00Z"})"),
      &error);
  REQUIRE(typing.has_value());
  CHECK(typing->content.empty());
  for (const Message& event : {*receipt, *typing}) {
    Message again = parse_ok(event_to_json(event));
    CHECK(again.kind == event.kind);
    CHECK(again.content == event.content);
    CHECK(again.user == event.user);
  }
  // A message still needs its content, as a string.
  CHECK_FALSE(message_from_json(
      nlohmann::json::parse(
          R"({"id":"4","content":7,"user":"u","channel":"c","timestamp":"2026-01-01T00:00:00Z"})"),
      &error));
}

TEST_SUITE_END();

}  // namespace relay
