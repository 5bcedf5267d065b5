#include "shared/message.h"

#include <algorithm>
#include <charconv>
#include <ctime>

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
  }
  out["timestamp"] = format_rfc3339_ms(message.timestamp_ms);
  return out;
}

namespace {

std::optional<int64_t> parse_positive_id(const nlohmann::json& value) {
  if (value.is_number_unsigned()) {
    auto id = value.get<uint64_t>();
    if (id == 0 || id > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
    return static_cast<int64_t>(id);
  }
  if (value.is_number_integer()) {
    auto id = value.get<int64_t>();
    if (id <= 0) return std::nullopt;
    return id;
  }
  if (!value.is_string()) return std::nullopt;
  const auto& text = value.get_ref<const std::string&>();
  int64_t id = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), id);
  if (ec != std::errc() || end != text.data() + text.size() || id <= 0) return std::nullopt;
  return id;
}

// Parses "YYYY-MM-DDTHH:MM:SS.mmmZ" (milliseconds optional) into Unix milliseconds.
std::optional<int64_t> parse_rfc3339_ms(const std::string& text) {
  std::tm tm{};
  int millis = 0;
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &consumed) != 6) {
    return std::nullopt;
  }
  std::string_view rest(text.c_str() + consumed);
  if (rest.size() == 5 && rest[0] == '.' && rest[4] == 'Z') {
    for (char c : rest.substr(1, 3)) {
      if (c < '0' || c > '9') return std::nullopt;
      millis = millis * 10 + (c - '0');
    }
  } else if (rest != "Z") {
    return std::nullopt;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  std::time_t seconds = timegm(&tm);
  if (seconds == static_cast<std::time_t>(-1)) return std::nullopt;
  return static_cast<int64_t>(seconds) * 1000 + millis;
}

// Reads the required positive id `key` (an integer or a string of digits).
bool read_id(const nlohmann::json& object, const char* key, int64_t* out, std::string* error) {
  auto it = object.find(key);
  std::optional<int64_t> id;
  if (it != object.end()) id = parse_positive_id(*it);
  if (!id) {
    *error = std::string("\"") + key + "\" must be a positive integer (or a string of digits)";
    return false;
  }
  *out = *id;
  return true;
}

bool read_string(const nlohmann::json& object, const char* key, bool required, std::string* out,
                 std::string* error) {
  auto it = object.find(key);
  if (it == object.end() || it->is_null()) {
    if (required) *error = std::string("missing \"") + key + "\"";
    return !required;
  }
  if (!it->is_string()) {
    *error = std::string("\"") + key + "\" must be a string";
    return false;
  }
  *out = it->get<std::string>();
  return true;
}

}  // namespace

nlohmann::json event_to_json(const Message& message) {
  auto out = message_to_json(message);
  out["type"] = kind_name(message.kind);
  return out;
}

std::optional<Message> message_from_json(const nlohmann::json& value, std::string* error) {
  if (!value.is_object()) {
    *error = "each message must be a JSON object";
    return std::nullopt;
  }
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
  bool is_message = message.kind == EventKind::kMessage;
  if (!read_string(value, "content", is_message, &message.content, error) ||
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

bool MessageFilter::matches(const Message& message) const {
  if (message.kind == EventKind::kPresence && message.channel.empty()) return true;
  if (!message.to.empty()) {
    return !user.empty() && (message.to == user || message.user == user);
  }
  return channels.empty() ||
         std::find(channels.begin(), channels.end(), message.channel) != channels.end();
}

}  // namespace relay
