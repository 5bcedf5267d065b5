// The hand-written JSON of the hot paths (shared/json_writer.h, message_json, event_json) must be
// byte for byte what nlohmann writes for the same value: clients and tests compare either.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "shared/json_writer.h"
#include "shared/message.h"

namespace relay {

namespace {

std::vector<std::string> awkward_texts() {
  std::string controls;
  for (int c = 0; c < 0x20; ++c) controls.push_back(static_cast<char>(c));
  return {"",
          "plain",
          "quote \" backslash \\ slash /",
          controls,
          "del \x7f",
          "\xc3\xa9t\xc3\xa9 \xce\xba\xcf\x8c\xcf\x83\xce\xbc\xce\xb5 \xf0\x9f\x98\x80",
          "bad \xff\xfe bytes \xc3",
          "overlong \xc0\xaf",
          "surrogate \xed\xa0\x80",
          std::string("nul \0 inside", 12),
          "<img src=x onerror=\"x\">\u2028"};
}

}  // namespace

TEST_CASE("json writer: strings are escaped as nlohmann escapes them") {
  for (const std::string& text : awkward_texts()) {
    std::string ours;
    append_json_string(text, &ours);
    CHECK(ours == dump_json(nlohmann::json(text)));
  }
}

TEST_CASE("json writer: a flat object has its keys in byte order, like nlohmann's") {
  FlatJsonObject object;
  object.add_string("zeta", "1");
  object.add_raw("alpha", "[]");
  object.add_string("Beta", "x\ny");
  object.add_raw("mid", "null");
  std::string ours;
  object.append_to(&ours);
  nlohmann::json theirs = {
      {"zeta", "1"}, {"alpha", nlohmann::json::array()}, {"Beta", "x\ny"}, {"mid", nullptr}};
  CHECK(ours == dump_json(theirs));
}

TEST_CASE("json writer: every kind's wire form equals message_to_json and event_to_json") {
  std::vector<Message> samples;
  for (const std::string& text : awkward_texts()) {
    Message message;
    message.id = 9007199254740991;
    message.content = text;
    message.user = "alice";
    message.channel = "general";
    message.timestamp_ms = 1767323045678;
    samples.push_back(message);
    message.to = "bob";
    message.user = text;
    samples.push_back(message);
    Message receipt;
    receipt.kind = EventKind::kReceipt;
    receipt.id = 12;
    receipt.message_id = 7;
    receipt.user = "bob";
    receipt.status = "read";
    receipt.channel = text;
    receipt.timestamp_ms = -1;  // before 1970: the millisecond rounds down into the second before
    samples.push_back(receipt);
    receipt.to = "alice";
    samples.push_back(receipt);
    Message typing;
    typing.kind = EventKind::kTyping;
    typing.user = text;
    typing.channel = "general";
    samples.push_back(typing);
    typing.to = "bob";
    samples.push_back(typing);
    Message presence;
    presence.kind = EventKind::kPresence;
    presence.user = "carol";
    presence.status = "join";
    samples.push_back(presence);
    presence.channel = text;
    samples.push_back(presence);
  }
  for (const Message& message : samples) {
    CHECK(message_json(message) == dump_json(message_to_json(message)));
    CHECK(event_json(message) == dump_json(event_to_json(message)));
  }
}

}  // namespace relay
