#include "cli/format.h"

#include <cstdio>
#include <ctime>

#include <fmt/format.h>

#include "shared/message.h"

namespace relay::cli {

namespace {

std::string string_field(const nlohmann::json& object, const char* key) {
  if (!object.is_object()) return {};
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// Replaces control characters (except tab, and newline when `keep_newlines`) with U+FFFD; drops
// the CR of CRLF line ends.
std::string printable(const std::string& text, bool keep_newlines) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n' && keep_newlines) continue;
    if ((c == '\n' && keep_newlines) || c == '\t' || (c >= 0x20 && c != 0x7f)) {
      out.push_back(static_cast<char>(c));
    } else {
      out += "\xEF\xBF\xBD";
    }
  }
  return out;
}

// Columns a terminal gives `text`, counting each UTF-8 code point as one.
size_t display_width(const std::string& text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;
  }
  return width;
}

// `text` with every line after the first indented by `indent` spaces.
std::string indent_continuation(const std::string& text, size_t indent) {
  std::string out;
  const std::string pad(indent, ' ');
  for (char c : text) {
    out.push_back(c);
    if (c == '\n') out += pad;
  }
  return out;
}

std::string time_prefix(const nlohmann::json& object, TimeStyle style) {
  std::string timestamp = string_field(object, "timestamp");
  return timestamp.empty() ? std::string() : format_time(timestamp, style) + " ";
}

}  // namespace

std::string format_time(const std::string& rfc3339, TimeStyle style) {
  std::tm utc{};
  if (std::sscanf(rfc3339.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &utc.tm_year, &utc.tm_mon,
                  &utc.tm_mday, &utc.tm_hour, &utc.tm_min, &utc.tm_sec) != 6) {
    return printable(rfc3339, false);
  }
  utc.tm_year -= 1900;
  utc.tm_mon -= 1;
  std::time_t seconds = timegm(&utc);
  std::tm local{};
  if (seconds == static_cast<std::time_t>(-1) || localtime_r(&seconds, &local) == nullptr) {
    return printable(rfc3339, false);
  }
  std::string time = fmt::format("{:02}:{:02}:{:02}", local.tm_hour, local.tm_min, local.tm_sec);
  if (style == TimeStyle::kTimeOnly) return time;
  return fmt::format("{:04}-{:02}-{:02} {}", local.tm_year + 1900, local.tm_mon + 1, local.tm_mday,
                     time);
}

std::string format_message(const nlohmann::json& message, TimeStyle style) {
  std::string user = printable(string_field(message, "user"), false);
  std::string to = printable(string_field(message, "to"), false);
  std::string prefix =
      time_prefix(message, style) + "[" + printable(string_field(message, "id"), false) + "] ";
  // Appended piece by piece: GCC 12 reports a false -Wrestrict on `"#" + std::string(...)` here.
  if (to.empty()) {
    prefix.append("#").append(printable(string_field(message, "channel"), false));
    prefix.append(" ").append(user).append(": ");
  } else {
    prefix += user + " → " + to + ": ";
  }
  std::string content = printable(string_field(message, "content"), true);
  return prefix + indent_continuation(content, display_width(prefix)) + "\n";
}

std::string format_event(const std::string& type, const nlohmann::json& data) {
  std::string line = time_prefix(data, TimeStyle::kTimeOnly) + "· ";
  std::string user = printable(string_field(data, "user"), false);
  std::string channel = printable(string_field(data, "channel"), false);
  std::string to = printable(string_field(data, "to"), false);
  if (type == "typing") {
    line += user + " is typing" + (to.empty() ? " in #" + channel : " to " + to);
  } else if (type == "receipt") {
    line += user + " " + printable(string_field(data, "status"), false) + " [" +
            printable(string_field(data, "message_id"), false) + "]";
  } else if (type == "presence") {
    std::string state = string_field(data, "state");
    line += user + (state == "join" ? " joined" : state == "leave" ? " left" : " " + state);
    if (!channel.empty()) line += " #" + channel;
  } else {
    line += printable(type, false) + " " + printable(dump_json(data), false);
  }
  return line + "\n";
}

std::string format_channel(const nlohmann::json& channel) {
  std::string name = printable(string_field(channel, "name"), false);
  int64_t count = 0;
  if (channel.is_object() && channel.contains("messages") && channel["messages"].is_number()) {
    count = channel["messages"].get<int64_t>();
  }
  std::string line =
      fmt::format("#{}{}  {} message{}", name, channel.value("private", false) ? " (private)" : "",
                  count, count == 1 ? "" : "s");
  std::string last = string_field(channel, "last_activity");
  if (!last.empty()) line += ", last " + format_time(last, TimeStyle::kDateAndTime);
  return line + "\n";
}

std::string format_channel_detail(const nlohmann::json& channel, const std::string& name) {
  std::string shown = string_field(channel, "name");
  std::string line = "#" + printable(shown.empty() ? name : shown, false);
  if (channel.value("private", false)) line += " (private)";
  if (channel.contains("members") && channel["members"].is_array()) {
    std::string members;
    for (const auto& member : channel["members"]) {
      if (!member.is_string()) continue;
      members += (members.empty() ? "" : ", ") + printable(member.get<std::string>(), false);
    }
    line += ": " + members;
  } else if (channel.value("left", false)) {
    line += ": you left";
  }
  return line + "\n";
}

std::string format_json_line(const nlohmann::json& value) {
  return dump_json(value) + "\n";
}

}  // namespace relay::cli
