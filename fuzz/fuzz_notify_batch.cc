// libFuzzer target: notify-service/notify_batch.h's parse_notify_batch, the reader of POST /notify
// bodies (one event or an array of them). Invariants: nothing throws or crashes, however deep or
// odd the JSON; an accepted batch holds one valid event per item, in id order; the batch written
// back as JSON (what message-service's forwarder sends) is accepted as the same batch; a refusal
// is a 400 with one of the documented codes; the reader (SAX, no DOM) agrees with nlohmann's DOM
// parser on what is JSON and with each item read alone on which item is refused first.

#include <algorithm>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "fuzz/fuzz_check.h"
#include "notify-service/notify_batch.h"
#include "shared/message.h"
#include "shared/validation.h"

namespace {

using nlohmann::json;
using relay::EventKind;
using relay::Message;

bool same_event(const Message& a, const Message& b) {
  // Typing to a user carries no channel on the wire (message_to_json writes "channel" or "to").
  bool channel_on_wire = a.kind != EventKind::kTyping || a.to.empty();
  return a.kind == b.kind && a.id == b.id && a.content == b.content && a.user == b.user &&
         (!channel_on_wire || a.channel == b.channel) && a.to == b.to &&
         a.timestamp_ms == b.timestamp_ms && a.message_id == b.message_id && a.status == b.status;
}

void check_batch(std::string_view input, const std::vector<Message>& batch) {
  json value = json::parse(input, nullptr, false);
  FUZZ_CHECK(!value.is_discarded());
  FUZZ_CHECK(batch.size() == (value.is_array() ? value.size() : 1));
  // Sorted by id, typing (id 0) first; stored kinds have an id in 1..kMaxNotifyId.
  int64_t previous_id = 0;
  for (const Message& message : batch) {
    FUZZ_CHECK(message.kind != EventKind::kPresence);
    FUZZ_CHECK(message.id >= previous_id);
    previous_id = message.id;
    if (message.kind == EventKind::kTyping) {
      FUZZ_CHECK(message.id == 0);
      FUZZ_CHECK(!message.channel.empty() || !message.to.empty());
    } else {
      FUZZ_CHECK(message.id > 0 && message.id <= relay::kMaxNotifyId);
    }
    if (message.kind == EventKind::kReceipt) {
      FUZZ_CHECK(message.message_id > 0 && message.message_id <= relay::kMaxNotifyId);
    }
    if (message.kind != EventKind::kTyping || message.to.empty()) {
      FUZZ_CHECK(relay::is_valid_channel(message.channel));
    }
  }
  // The batch is its items, each read on its own, stably sorted by id. Only flat items are
  // written out again (dumping JSON recurses on its nesting).
  if (!value.is_array()) return;
  std::vector<Message> expected;
  for (const json& item : value) {
    if (!item.is_object()) return;
    for (const auto& field : item.items()) {
      if (!field.value().is_primitive()) return;
    }
    auto one = relay::parse_notify_batch(item.dump());
    FUZZ_CHECK(std::holds_alternative<std::vector<Message>>(one));
    FUZZ_CHECK(std::get<std::vector<Message>>(one).size() == 1);
    expected.push_back(std::get<std::vector<Message>>(one).front());
  }
  std::stable_sort(expected.begin(), expected.end(),
                   [](const Message& a, const Message& b) { return a.id < b.id; });
  for (size_t i = 0; i < batch.size(); ++i) FUZZ_CHECK(same_event(batch[i], expected[i]));
}

}  // namespace

// The reader walks the body without a DOM; nlohmann's DOM parser is the oracle for what is JSON,
// and each flat item read on its own for which item is refused first and why.
void check_verdict(std::string_view input,
                   const std::variant<std::vector<Message>, relay::ApiError>& parsed) {
  const auto* error = std::get_if<relay::ApiError>(&parsed);
  json value = json::parse(input, nullptr, false);
  FUZZ_CHECK(value.is_discarded() == (error != nullptr && error->code == "invalid_json"));
  if (value.is_discarded()) return;
  bool too_many = value.is_array() && value.size() > relay::kMaxNotifyBatchItems;
  FUZZ_CHECK(too_many == (error != nullptr && error->code == "too_many_messages"));
  if (too_many || !value.is_array()) return;
  for (size_t i = 0; i < value.size(); ++i) {
    const json& item = value[i];
    if (item.is_object()) {
      for (const auto& field : item.items()) {
        if (!field.value().is_primitive()) return;  // dump() would recurse: not compared
      }
    } else if (!item.is_primitive()) {
      return;
    }
    auto one = relay::parse_notify_batch(item.dump());
    if (const auto* item_error = std::get_if<relay::ApiError>(&one)) {
      // The first refused item is the batch's refusal, under its own index.
      FUZZ_CHECK(error != nullptr);
      FUZZ_CHECK(item_error->code == "invalid_message" && error->code == "invalid_message");
      std::string prefix = "message 0: ";
      FUZZ_CHECK(item_error->detail.compare(0, prefix.size(), prefix) == 0);
      FUZZ_CHECK(error->detail ==
                 "message " + std::to_string(i) + ": " + item_error->detail.substr(prefix.size()));
      return;
    }
  }
  FUZZ_CHECK(error == nullptr);  // every item accepted on its own: the batch is accepted
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto parsed = relay::parse_notify_batch(input);
  check_verdict(input, parsed);
  if (auto* error = std::get_if<relay::ApiError>(&parsed)) {
    // Every refusal is one of the three documented 400s.
    FUZZ_CHECK(error->status == 400);
    FUZZ_CHECK(error->code == "invalid_json" || error->code == "too_many_messages" ||
               error->code == "invalid_message");
    return 0;
  }
  const auto& batch = std::get<std::vector<Message>>(parsed);
  check_batch(input, batch);

  json wire = json::array();
  for (const Message& message : batch) wire.push_back(relay::event_to_json(message));
  std::string body = relay::dump_json(wire);
  auto again = relay::parse_notify_batch(body);
  FUZZ_CHECK(std::holds_alternative<std::vector<Message>>(again));
  const auto& batch_again = std::get<std::vector<Message>>(again);
  FUZZ_CHECK(batch_again.size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) FUZZ_CHECK(same_event(batch[i], batch_again[i]));
  return 0;
}
