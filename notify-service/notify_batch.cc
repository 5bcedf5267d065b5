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
  bool null() override { return scalar(WireObject::Value::Type::kNull); }
  bool boolean(bool) override { return scalar(WireObject::Value::Type::kOther); }
  bool number_integer(number_integer_t value) override {
    if (WireObject::Value* slot = field_slot()) {
      slot->type = WireObject::Value::Type::kSigned;
      slot->signed_value = value;
    }
    return scalar(WireObject::Value::Type::kSigned, false);
  }
  bool number_unsigned(number_unsigned_t value) override {
    if (WireObject::Value* slot = field_slot()) {
      slot->type = WireObject::Value::Type::kUnsigned;
      slot->unsigned_value = value;
    }
    return scalar(WireObject::Value::Type::kUnsigned, false);
  }
  bool number_float(number_float_t, const string_t&) override {
    return scalar(WireObject::Value::Type::kOther);
  }
  bool string(string_t& value) override {
    if (WireObject::Value* slot = field_slot()) {
      slot->type = WireObject::Value::Type::kString;
      slot->text.swap(value);
    }
    return scalar(WireObject::Value::Type::kString, false);
  }
  bool binary(binary_t&) override { return scalar(WireObject::Value::Type::kOther); }
  bool start_object(std::size_t) override {
    if (depth_ == item_depth()) {
      in_item_ = true;  // an item that is an object: its fields follow at item_depth() + 1
      item_.clear();
    } else {
      container_value();
    }
    ++depth_;
    return true;
  }
  bool key(string_t& key) override {
    if (in_item_ && depth_ == item_depth() + 1) pending_ = item_.set(key);
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
    if (depth_ == 0 && !started_) {
      top_is_array_ = true;  // the batch itself
    } else {
      container_value();
    }
    started_ = true;
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

  // Where a value at the current position goes: a kept field of the current item, or nowhere.
  WireObject::Value* field_slot() {
    if (!in_item_ || depth_ != item_depth() + 1) return nullptr;
    WireObject::Value* slot = pending_;
    pending_ = nullptr;
    return slot;
  }

  // A scalar: a field of the item (set as `type` when `set` says so), or an item that is not an
  // object.
  bool scalar(WireObject::Value::Type type, bool set = true) {
    started_ = true;
    if (in_item_ && depth_ == item_depth() + 1) {
      WireObject::Value* slot = field_slot();
      if (set && slot != nullptr) slot->type = type;
    } else if (depth_ == item_depth()) {
      finish_item(nullptr);
    }
    return true;
  }

  // An object or array that is not an item: a field's value (kOther), an item that is an array,
  // or something nested deeper.
  void container_value() {
    started_ = true;
    if (in_item_ && depth_ == item_depth() + 1) {
      if (WireObject::Value* slot = field_slot()) slot->type = WireObject::Value::Type::kOther;
    } else if (depth_ == item_depth()) {
      finish_item(nullptr);
    }
  }

  void finish_item(const WireObject* item) {
    size_t index = items_++;
    if (first_error_ || items_ > kMaxNotifyBatchItems) return;
    if (auto error = read_item(item, index, &messages_)) first_error_ = std::move(error);
  }

  size_t depth_ = 0;
  bool started_ = false;
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
