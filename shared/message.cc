#include "shared/message.h"

#include <algorithm>
#include <charconv>
#include <ctime>
#include <string_view>

#include "shared/json_writer.h"
#include "shared/private_channels.h"
#include "shared/time_format.h"

namespace relay {

const char* kind_name(EventKind kind) {
  switch (kind) {
    case EventKind::kReceipt:
      return "receipt";
    case EventKind::kTyping:
      return "typing";
    case EventKind::kPresence:
      return "presence";
    case EventKind::kMembership:
      return "membership";
    case EventKind::kMessage:
      break;
  }
  return "message";
}

nlohmann::json message_to_json(const Message& message) {
  nlohmann::json out = nlohmann::json::object();
  switch (message.kind) {
    case EventKind::kMessage:
      out = {{"id", std::to_string(message.id)},
             {"content", message.content},
             {"user", message.user},
             {"channel", message.channel}};
      if (!message.to.empty()) out["to"] = message.to;
      break;
    case EventKind::kReceipt:
      out = {{"type", "receipt"},
             {"id", std::to_string(message.id)},
             {"message_id", std::to_string(message.message_id)},
             {"user", message.user},
             {"status", message.status},
             {"channel", message.channel}};
      if (!message.to.empty()) out["to"] = message.to;
      break;
    case EventKind::kTyping:
      out = {{"type", "typing"}, {"user", message.user}};
      if (message.to.empty()) {
        out["channel"] = message.channel;
      } else {
        out["to"] = message.to;
      }
      break;
    case EventKind::kPresence:
      out = {{"type", "presence"},
             {"user", message.user},
             {"channel",
              message.channel.empty() ? nlohmann::json(nullptr) : nlohmann::json(message.channel)},
             {"state", message.status}};
      break;
    case EventKind::kMembership:
      out = {{"type", "membership"},
             {"user", message.user},
             {"channel", message.channel},
             {"state", message.status}};
      break;
  }
  out["timestamp"] = format_rfc3339_ms(message.timestamp_ms);
  return out;
}

void append_message_json(const Message& message, bool with_type, FlatJsonObject* extra,
                         std::string* out) {
  FlatJsonObject local;
  FlatJsonObject& object = extra != nullptr ? *extra : local;
  // Views into these are written by append_to below, so they live to the end.
  std::string id;
  std::string message_id;
  std::string timestamp = format_rfc3339_ms(message.timestamp_ms);
  if (message.kind == EventKind::kMessage || message.kind == EventKind::kReceipt) {
    id = std::to_string(message.id);
  }
  if (message.kind == EventKind::kReceipt) message_id = std::to_string(message.message_id);
  if (with_type || message.kind != EventKind::kMessage) {
    object.add_string("type", kind_name(message.kind));
  }
  object.add_string("user", message.user);
  switch (message.kind) {
    case EventKind::kMessage:
      object.add_string("id", id);
      object.add_string("content", message.content);
      object.add_string("channel", message.channel);
      if (!message.to.empty()) object.add_string("to", message.to);
      break;
    case EventKind::kReceipt:
      object.add_string("id", id);
      object.add_string("message_id", message_id);
      object.add_string("status", message.status);
      object.add_string("channel", message.channel);
      if (!message.to.empty()) object.add_string("to", message.to);
      break;
    case EventKind::kTyping:
      if (message.to.empty()) {
        object.add_string("channel", message.channel);
      } else {
        object.add_string("to", message.to);
      }
      break;
    case EventKind::kPresence:
      if (message.channel.empty()) {
        object.add_raw("channel", "null");
      } else {
        object.add_string("channel", message.channel);
      }
      object.add_string("state", message.status);
      break;
    case EventKind::kMembership:
      object.add_string("channel", message.channel);
      object.add_string("state", message.status);
      break;
  }
  object.add_string("timestamp", timestamp);
  object.append_to(out);
}

std::string message_json(const Message& message) {
  std::string out;
  append_message_json(message, false, nullptr, &out);
  return out;
}

std::string event_json(const Message& message) {
  std::string out;
  append_message_json(message, true, nullptr, &out);
  return out;
}

namespace {

std::optional<int64_t> parse_positive_id(const WireObject::Value& value) {
  using Type = WireObject::Value::Type;
  if (value.type == Type::kUnsigned) {
    if (value.unsigned_value == 0 || value.unsigned_value > static_cast<uint64_t>(INT64_MAX)) {
      return std::nullopt;
    }
    return static_cast<int64_t>(value.unsigned_value);
  }
  if (value.type == Type::kSigned) {
    if (value.signed_value <= 0) return std::nullopt;
    return value.signed_value;
  }
  if (value.type != Type::kString) return std::nullopt;
  const std::string& text = value.text;
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

// Reads `count` decimal digits at `text[*at]`, advancing `*at`; false unless all are digits.
bool read_digits(std::string_view text, size_t* at, size_t count, int* out) {
  if (*at + count > text.size()) return false;
  int value = 0;
  for (size_t i = 0; i < count; ++i) {
    char c = text[*at + i];
    if (c < '0' || c > '9') return false;
    value = value * 10 + (c - '0');
  }
  *at += count;
  *out = value;
  return true;
}

bool read_char(std::string_view text, size_t* at, char expected) {
  if (*at >= text.size() || text[*at] != expected) return false;
  ++*at;
  return true;
}

// Parses exactly "YYYY-MM-DDTHH:MM:SS.mmmZ" (milliseconds optional), each field in its range (no
// day 31 in a 30-day month, no second 60), into Unix milliseconds: only what format_rfc3339_ms
// could have written, so whatever is accepted is written back the same way.
std::optional<int64_t> parse_rfc3339_ms(std::string_view text) {
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0, millis = 0;
  size_t at = 0;
  if (!read_digits(text, &at, 4, &year) || !read_char(text, &at, '-') ||
      !read_digits(text, &at, 2, &month) || !read_char(text, &at, '-') ||
      !read_digits(text, &at, 2, &day) || !read_char(text, &at, 'T') ||
      !read_digits(text, &at, 2, &hour) || !read_char(text, &at, ':') ||
      !read_digits(text, &at, 2, &minute) || !read_char(text, &at, ':') ||
      !read_digits(text, &at, 2, &second)) {
    return std::nullopt;
  }
  if (read_char(text, &at, '.') && !read_digits(text, &at, 3, &millis)) return std::nullopt;
  if (!read_char(text, &at, 'Z') || at != text.size()) return std::nullopt;
  static constexpr int kDaysInMonth[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  if (month < 1 || month > 12 || hour > 23 || minute > 59 || second > 59) return std::nullopt;
  if (day < 1 || day > kDaysInMonth[month - 1] + (month == 2 && leap ? 1 : 0)) return std::nullopt;
  std::tm tm{};
  tm.tm_year = year - 1900;
  tm.tm_mon = month - 1;
  tm.tm_mday = day;
  tm.tm_hour = hour;
  tm.tm_min = minute;
  tm.tm_sec = second;
  std::time_t seconds = timegm(&tm);
  return static_cast<int64_t>(seconds) * 1000 + millis;
}

// Reads the required positive id `key` (an integer or a string of digits).
bool read_id(const WireObject& object, const char* key, int64_t* out, std::string* error) {
  const WireObject::Value* found = object.find(key);
  std::optional<int64_t> id;
  if (found != nullptr) id = parse_positive_id(*found);
  if (!id) {
    *error = std::string("\"") + key + "\" must be a positive integer (or a string of digits)";
    return false;
  }
  *out = *id;
  return true;
}

bool read_string(const WireObject& object, const char* key, bool required, std::string* out,
                 std::string* error) {
  const WireObject::Value* found = object.find(key);
  if (found == nullptr || found->type == WireObject::Value::Type::kNull) {
    if (required) *error = std::string("missing \"") + key + "\"";
    return !required;
  }
  if (found->type != WireObject::Value::Type::kString) {
    *error = std::string("\"") + key + "\" must be a string";
    return false;
  }
  *out = found->text;
  return true;
}

}  // namespace

nlohmann::json event_to_json(const Message& message) {
  auto out = message_to_json(message);
  out["type"] = kind_name(message.kind);
  return out;
}

WireObject::Value* WireObject::set(std::string_view key) {
  // Only the keys message_from_wire reads are kept: at most nine, so a linear search is cheap
  // however many keys a hostile object has.
  static constexpr std::string_view kRead[] = {
      "channel", "content", "id", "message_id", "status", "timestamp", "to", "type", "user"};
  if (std::find(std::begin(kRead), std::end(kRead), key) == std::end(kRead)) return nullptr;
  for (size_t i = 0; i < used; ++i) {
    if (fields[i].first == key) return &fields[i].second;  // a key given twice: the last counts
  }
  if (used == fields.size()) fields.emplace_back();
  auto& field = fields[used++];
  field.first.assign(key);
  field.second.type = Value::Type::kOther;
  return &field.second;
}

const WireObject::Value* WireObject::find(std::string_view key) const {
  for (size_t i = 0; i < used; ++i) {
    if (fields[i].first == key) return &fields[i].second;
  }
  return nullptr;
}

std::optional<Message> message_from_json(const nlohmann::json& value, std::string* error) {
  if (!value.is_object()) {
    *error = "each message must be a JSON object";
    return std::nullopt;
  }
  WireObject object;
  for (const auto& [key, field] : value.items()) {
    WireObject::Value* slot = object.set(key);
    if (slot == nullptr) continue;
    using Type = WireObject::Value::Type;
    if (field.is_null()) {
      slot->type = Type::kNull;
    } else if (field.is_string()) {
      slot->type = Type::kString;
      slot->text = field.get<std::string>();
    } else if (field.is_number_unsigned()) {
      slot->type = Type::kUnsigned;
      slot->unsigned_value = field.get<uint64_t>();
    } else if (field.is_number_integer()) {
      slot->type = Type::kSigned;
      slot->signed_value = field.get<int64_t>();
    }
  }
  return message_from_wire(object, error);
}

std::optional<Message> message_from_wire(const WireObject& value, std::string* error) {
  Message message;
  std::string type = "message";
  if (!read_string(value, "type", false, &type, error)) return std::nullopt;
  if (type == "receipt") {
    message.kind = EventKind::kReceipt;
  } else if (type == "typing") {
    message.kind = EventKind::kTyping;
  } else if (type != "message") {
    *error = "\"type\" must be \"message\", \"receipt\" or \"typing\"";
    return std::nullopt;
  }
  if (message.kind != EventKind::kTyping) {
    if (!read_id(value, "id", &message.id, error)) return std::nullopt;
  }
  std::string timestamp;
  // Only a message carries content on the wire: any on a receipt or typing is not read, so what is
  // accepted here is what message_to_json writes back.
  bool is_message = message.kind == EventKind::kMessage;
  if ((is_message && !read_string(value, "content", true, &message.content, error)) ||
      !read_string(value, "user", true, &message.user, error) ||
      !read_string(value, "channel", message.kind != EventKind::kTyping, &message.channel, error) ||
      !read_string(value, "to", false, &message.to, error) ||
      !read_string(value, "timestamp", true, &timestamp, error)) {
    return std::nullopt;
  }
  if (message.kind == EventKind::kTyping && message.channel.empty() && message.to.empty()) {
    *error = "typing needs \"channel\" or \"to\"";
    return std::nullopt;
  }
  if (message.kind == EventKind::kReceipt) {
    if (!read_id(value, "message_id", &message.message_id, error) ||
        !read_string(value, "status", true, &message.status, error)) {
      return std::nullopt;
    }
    if (message.status != "delivered" && message.status != "read") {
      *error = "\"status\" must be \"delivered\" or \"read\"";
      return std::nullopt;
    }
  }
  auto ms = parse_rfc3339_ms(timestamp);
  if (!ms) {
    *error = "\"timestamp\" must be RFC 3339 UTC, like 2026-01-02T03:04:05.678Z";
    return std::nullopt;
  }
  message.timestamp_ms = *ms;
  return message;
}

std::string dump_json(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

bool MessageFilter::matches(const Message& message, const PrivateChannels* private_channels) const {
  if (message.kind == EventKind::kPresence && message.channel.empty()) return true;
  if (!message.to.empty()) {
    return !user.empty() && (message.to == user || message.user == user);
  }
  if (!channels.empty() &&
      std::find(channels.begin(), channels.end(), message.channel) == channels.end()) {
    return false;
  }
  if (!hidden_channels.empty() && std::find(hidden_channels.begin(), hidden_channels.end(),
                                            message.channel) != hidden_channels.end()) {
    return false;
  }
  if (message.kind == EventKind::kMembership) {
    return !user.empty() &&
           (message.user == user ||
            (private_channels != nullptr && private_channels->is_member(message.channel, user)));
  }
  return private_channels == nullptr || private_channels->may_see(message.channel, user);
}

}  // namespace relay
