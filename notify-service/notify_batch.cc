#include "notify-service/notify_batch.h"

#include <algorithm>
#include <optional>
#include <string>
#include <utility>

namespace relay {

namespace {

ApiError invalid_message(size_t index, const std::string& what) {
  return ApiError{400, "invalid_message", "message " + std::to_string(index) + ": " + what};
}

// Reads one item of the batch into `messages`, or says why it cannot be.
std::optional<ApiError> read_item(const WireObject* item, size_t index,
                                  std::vector<Message>* messages) {
  if (item == nullptr) return invalid_message(index, "each message must be a JSON object");
  std::string error;
  auto message = message_from_wire(*item, &error);
  if (!message) return invalid_message(index, error);
  bool channel_needed = message->kind != EventKind::kTyping || message->to.empty();
  if (channel_needed && !is_valid_channel(message->channel)) {
    return invalid_message(index, "\"channel\" is not a valid name");
  }
  // message_from_wire already refuses ids <= 0 for stored kinds; ids past 2^53 - 1 cannot be real.
  if (message->id > kMaxNotifyId) {
    return invalid_message(index, "\"id\" is above " + std::to_string(kMaxNotifyId));
  }
  if (message->kind == EventKind::kReceipt && message->message_id > kMaxNotifyId) {
    return invalid_message(index, "\"message_id\" is above " + std::to_string(kMaxNotifyId));
  }
  messages->push_back(std::move(*message));
  return std::nullopt;
}

// Reads the body as nlohmann's parser walks it (SAX: no DOM, one WireObject reused for every
// item), keeping of each item only the fields a message has. Items are the top-level value, or
// the values of a top-level array; a value nested deeper is only counted through (the parser is
// iterative, so nesting costs no stack). The first item error is kept, and reported only once
// the whole body parsed, as the DOM reader did: invalid JSON anywhere is invalid_json.
class BatchReader final : public nlohmann::json_sax<nlohmann::json> {
 public:
  using Type = WireObject::Value::Type;

  bool null() override {
    if (WireObject::Value* slot = value_slot()) slot->type = Type::kNull;
    return true;
  }
  bool boolean(bool) override { return other_value(); }
  bool number_integer(number_integer_t value) override {
    if (WireObject::Value* slot = value_slot()) {
      slot->type = Type::kSigned;
      slot->signed_value = value;
    }
    return true;
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (WireObject::Value* slot = value_slot()) {
      slot->type = Type::kUnsigned;
      slot->unsigned_value = value;
    }
    return true;
  }
  bool number_float(number_float_t, const string_t&) override { return other_value(); }
  bool string(string_t& value) override {
    if (WireObject::Value* slot = value_slot()) {
      slot->type = Type::kString;
      slot->text.swap(value);
    }
    return true;
  }
  bool binary(binary_t&) override { return other_value(); }
  bool start_object(std::size_t) override {
    if (depth_ == item_depth()) {
      in_item_ = true;  // an item that is an object: its fields follow at item_depth() + 1
      item_.clear();
    } else {
      other_value();
    }
    ++depth_;
    return true;
  }
  bool key(string_t& key) override {
    if (at_field()) pending_ = item_.set(key);
    return true;
  }
  bool end_object() override {
    --depth_;
    if (in_item_ && depth_ == item_depth()) {
      in_item_ = false;
      finish_item(&item_);
    }
    return true;
  }
  bool start_array(std::size_t) override {
    if (depth_ == 0) {
      top_is_array_ = true;  // the top-level value (strict parsing: nothing follows it)
    } else {
      other_value();
    }
    ++depth_;
    return true;
  }
  bool end_array() override {
    --depth_;
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }

  size_t items() const { return items_; }
  std::vector<Message>& messages() { return messages_; }
  const std::optional<ApiError>& first_error() const { return first_error_; }

 private:
  // Items are the values at this depth: inside the top-level array, or the top-level value.
  size_t item_depth() const { return top_is_array_ ? 1 : 0; }
  bool at_field() const { return in_item_ && depth_ == item_depth() + 1; }

  // Where a value starting here goes: the slot of a kept field of the current item, else nullptr.
  // A value in an item's place that is not an object (it did not start one) is an item refused
  // here; anything nested deeper is passed over.
  WireObject::Value* value_slot() {
    if (at_field()) return std::exchange(pending_, nullptr);
    if (depth_ == item_depth()) finish_item(nullptr);
    return nullptr;
  }
  // A value whose content is not kept (a float, a bool, an object or array not in an item's place).
  bool other_value() {
    if (WireObject::Value* slot = value_slot()) slot->type = Type::kOther;
    return true;
  }

  void finish_item(const WireObject* item) {
    size_t index = items_++;
    if (first_error_ || items_ > kMaxNotifyBatchItems) return;
    if (auto error = read_item(item, index, &messages_)) first_error_ = std::move(error);
  }

  size_t depth_ = 0;
  bool top_is_array_ = false;
  bool in_item_ = false;
  WireObject item_;
  WireObject::Value* pending_ = nullptr;  // the slot the last key of the item named, if kept
  size_t items_ = 0;
  std::vector<Message> messages_;
  std::optional<ApiError> first_error_;
};

}  // namespace

std::variant<std::vector<Message>, ApiError> parse_notify_batch(std::string_view body) {
  BatchReader reader;
  if (!nlohmann::json::sax_parse(body, &reader)) {
    return ApiError{400, "invalid_json", "the body must be a message object or an array of them"};
  }
  if (reader.items() > kMaxNotifyBatchItems) {
    return ApiError{400, "too_many_messages",
                    "a batch holds at most " + std::to_string(kMaxNotifyBatchItems) +
                        " messages; this one has " + std::to_string(reader.items())};
  }
  if (reader.first_error()) return *reader.first_error();
  std::vector<Message>& messages = reader.messages();
  std::stable_sort(messages.begin(), messages.end(),
                   [](const Message& a, const Message& b) { return a.id < b.id; });
  return std::move(messages);
}

}  // namespace relay
