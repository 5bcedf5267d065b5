#include "notify-service/notify_batch.h"

#include <algorithm>
#include <optional>
#include <string>

namespace relay {

namespace {

ApiError invalid_message(size_t index, const std::string& what) {
  return ApiError{400, "invalid_message", "message " + std::to_string(index) + ": " + what};
}

// Reads one item of the batch into `messages`, or says why it cannot be.
std::optional<ApiError> read_item(const nlohmann::json& item, size_t index,
                                  std::vector<Message>* messages) {
  std::string error;
  auto message = message_from_json(item, &error);
  if (!message) return invalid_message(index, error);
  bool channel_needed = message->kind != EventKind::kTyping || message->to.empty();
  if (channel_needed && !is_valid_channel(message->channel)) {
    return invalid_message(index, "\"channel\" is not a valid name");
  }
  // message_from_json already refuses ids <= 0 for stored kinds; ids past 2^53 - 1 cannot be real.
  if (message->id > kMaxNotifyId) {
    return invalid_message(index, "\"id\" is above " + std::to_string(kMaxNotifyId));
  }
  if (message->kind == EventKind::kReceipt && message->message_id > kMaxNotifyId) {
    return invalid_message(index, "\"message_id\" is above " + std::to_string(kMaxNotifyId));
  }
  messages->push_back(std::move(*message));
  return std::nullopt;
}

}  // namespace

std::variant<std::vector<Message>, ApiError> parse_notify_batch(std::string_view body) {
  // nlohmann's parser is iterative, so nesting costs heap, not stack; the body limit bounds it.
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded()) {
    return ApiError{400, "invalid_json", "the body must be a message object or an array of them"};
  }
  // Items are read in place: copying a json value recurses, and a hostile body can nest deeper
  // than any stack.
  std::vector<Message> messages;
  if (!parsed.is_array()) {
    if (auto error = read_item(parsed, 0, &messages)) return *error;
  } else {
    if (parsed.size() > kMaxNotifyBatchItems) {
      return ApiError{400, "too_many_messages",
                      "a batch holds at most " + std::to_string(kMaxNotifyBatchItems) +
                          " messages; this one has " + std::to_string(parsed.size())};
    }
    messages.reserve(parsed.size());
    for (size_t i = 0; i < parsed.size(); ++i) {
      if (auto error = read_item(parsed[i], i, &messages)) return *error;
    }
  }
  std::stable_sort(messages.begin(), messages.end(),
                   [](const Message& a, const Message& b) { return a.id < b.id; });
  return messages;
}

}  // namespace relay
