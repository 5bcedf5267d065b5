// libFuzzer target: the JSON bodies both services validate — shared/validation.h's
// parse_message_request, parse_typing_request and parse_receipt_request (POST /messages, /typing,
// /messages/{id}/receipts) and shared/message.h's message_from_json (the wire form on POST
// /notify). Invariants: nothing throws or crashes; what is accepted obeys the documented rules;
// what is accepted, written back as JSON, is accepted again as the same thing; a refusal has a
// status and a code.

#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "shared/message.h"
#include "shared/validation.h"

namespace {

using nlohmann::json;

void check_refusal(const relay::ApiError& error) {
  FUZZ_CHECK(error.status == 400 || error.status == 413);
  FUZZ_CHECK(!error.code.empty() && !error.detail.empty());
  FUZZ_CHECK(json::parse(relay::error_body(error), nullptr, false).is_object());
}

void check_message_request(std::string_view body, size_t max_content_bytes) {
  auto parsed = relay::parse_message_request(body, max_content_bytes);
  if (auto* error = std::get_if<relay::ApiError>(&parsed)) {
    check_refusal(*error);
    return;
  }
  const auto& draft = std::get<relay::MessageDraft>(parsed);
  FUZZ_CHECK(!draft.content.empty() && draft.content.size() <= max_content_bytes);
  FUZZ_CHECK(relay::is_valid_utf8(draft.content));
  FUZZ_CHECK(relay::is_valid_user_name(draft.user));
  FUZZ_CHECK(relay::is_valid_channel(draft.channel));
  FUZZ_CHECK(draft.to.empty() || relay::is_valid_user_name(draft.to));

  json again = {{"content", draft.content}, {"user", draft.user}, {"channel", draft.channel}};
  if (!draft.to.empty()) again["to"] = draft.to;
  auto reparsed = relay::parse_message_request(relay::dump_json(again), max_content_bytes);
  FUZZ_CHECK(std::holds_alternative<relay::MessageDraft>(reparsed));
  FUZZ_CHECK(std::get<relay::MessageDraft>(reparsed) == draft);
}

void check_typing_request(std::string_view body) {
  auto parsed = relay::parse_typing_request(body);
  if (auto* error = std::get_if<relay::ApiError>(&parsed)) {
    check_refusal(*error);
    return;
  }
  const auto& draft = std::get<relay::TypingDraft>(parsed);
  FUZZ_CHECK(relay::is_valid_user_name(draft.user));
  // Exactly one of a channel and a direct conversation.
  FUZZ_CHECK(draft.channel.empty() != draft.to.empty());
  FUZZ_CHECK(draft.channel.empty() || relay::is_valid_channel(draft.channel));
  FUZZ_CHECK(draft.to.empty() || relay::is_valid_user_name(draft.to));
}

void check_receipt_request(std::string_view body) {
  auto parsed = relay::parse_receipt_request(body);
  if (auto* error = std::get_if<relay::ApiError>(&parsed)) {
    check_refusal(*error);
    return;
  }
  const auto& draft = std::get<relay::ReceiptDraft>(parsed);
  FUZZ_CHECK(relay::is_valid_user_name(draft.user));
  FUZZ_CHECK(draft.status == "delivered" || draft.status == "read");
}

bool same_event(const relay::Message& a, const relay::Message& b) {
  // Typing to a user carries no channel on the wire (message_to_json writes "channel" or "to").
  bool channel_on_wire = a.kind != relay::EventKind::kTyping || a.to.empty();
  return a.kind == b.kind && a.id == b.id && a.content == b.content && a.user == b.user &&
         (!channel_on_wire || a.channel == b.channel) && a.to == b.to &&
         a.timestamp_ms == b.timestamp_ms && a.message_id == b.message_id && a.status == b.status;
}

void check_wire_event(const json& value) {
  std::string error;
  auto message = relay::message_from_json(value, &error);
  if (!message) {
    FUZZ_CHECK(!error.empty());
    return;
  }
  FUZZ_CHECK(message->kind != relay::EventKind::kPresence);
  if (message->kind == relay::EventKind::kTyping) {
    FUZZ_CHECK(!message->channel.empty() || !message->to.empty());
  } else {
    FUZZ_CHECK(message->id > 0);
  }
  if (message->kind == relay::EventKind::kReceipt) {
    FUZZ_CHECK(message->message_id > 0);
    FUZZ_CHECK(message->status == "delivered" || message->status == "read");
  }
  // What notify-service accepted, it writes to streams; a reader must get the same event back.
  for (const json& wire : {relay::message_to_json(*message), relay::event_to_json(*message)}) {
    json reread = json::parse(relay::dump_json(wire), nullptr, false);
    FUZZ_CHECK(!reread.is_discarded());
    std::string again_error;
    auto again = relay::message_from_json(reread, &again_error);
    FUZZ_CHECK(again.has_value());
    FUZZ_CHECK(same_event(*message, *again));
  }
  // The hand-written wire forms of the hot paths are the same bytes as nlohmann's.
  FUZZ_CHECK(relay::message_json(*message) == relay::dump_json(relay::message_to_json(*message)));
  FUZZ_CHECK(relay::event_json(*message) == relay::dump_json(relay::event_to_json(*message)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_message_request(input, 16384);
  check_message_request(input, 8);  // small enough that the 413 path is reached often
  check_typing_request(input);
  check_receipt_request(input);

  json value = json::parse(input, nullptr, false);
  if (value.is_discarded()) return 0;
  // Items are read in place (copying a deeply nested value would recurse).
  if (value.is_array()) {
    for (const json& item : value) check_wire_event(item);
  } else {
    check_wire_event(value);
  }
  relay::dump_json(value);  // never throws, whatever the input held
  return 0;
}
