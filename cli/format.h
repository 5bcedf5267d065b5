#pragma once

#include <string>

#include <nlohmann/json.hpp>

namespace relay::cli {

/// Whether a line shows the date too (history spans days; a live stream shows today).
enum class TimeStyle { kTimeOnly, kDateAndTime };

/// One message in readable form, ending with a newline:
/// "15:31:24 [7] #general alice: hello" or "15:31:24 [8] alice → bob: psst". Time is local;
/// further lines of the content are indented under the first; control characters other than
/// tab are shown as U+FFFD so a message cannot drive the terminal.
std::string format_message(const nlohmann::json& message, TimeStyle style);

/// A typing, receipt or presence event (the data of its SSE event) in compact form, ending with a
/// newline: "15:31:25 · bob read [7]", "· alice is typing in #general", "· alice joined #dev".
std::string format_event(const std::string& type, const nlohmann::json& data);

/// One channel of GET /channels: "#general  12 messages, last 2026-11-23 15:31:24".
std::string format_channel(const nlohmann::json& channel);
/// One line for a created channel (POST /channels, its members): "#name (private): a, b", or
/// "#name: you left"; `name` when the answer has none.
std::string format_channel_detail(const nlohmann::json& channel, const std::string& name);

/// The JSON on one line, ending with a newline (for --json).
std::string format_json_line(const nlohmann::json& value);

/// The local time of an RFC 3339 UTC timestamp as "HH:MM:SS" (or "YYYY-MM-DD HH:MM:SS"); the text
/// as given when it does not parse.
std::string format_time(const std::string& rfc3339, TimeStyle style);

}  // namespace relay::cli
