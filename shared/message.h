#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace relay {

/// One stored chat message. `id` is assigned by message-service's store and strictly increases;
/// it is also the SSE event id. An empty `to` means a channel message; otherwise it is a direct
/// message from `user` to `to`.
struct Message {
  int64_t id = 0;
  std::string content;
  std::string user;
  std::string channel;
  std::string to;
  int64_t timestamp_ms = 0;
};

/// The wire form of a message: {"id": "<digits>", "content", "user", "channel", "to" (only for a
/// DM), "timestamp": RFC 3339 UTC with milliseconds}.
nlohmann::json message_to_json(const Message& message);

/// Reads the wire form back (as sent to POST /notify). `id` may be a string of digits or a
/// positive integer; `timestamp` must be RFC 3339 UTC as written by message_to_json. Never
/// throws: on failure returns nullopt and sets `*error` to what is wrong.
std::optional<Message> message_from_json(const nlohmann::json& value, std::string* error);

/// Serialises JSON without ever throwing (invalid UTF-8 is replaced, though inputs are validated
/// long before they reach here).
std::string dump_json(const nlohmann::json& value);

/// Which messages one reader may see. Channel messages are visible when `channels` is empty (every
/// channel) or names the message's channel. Direct messages are visible only when `user` is one of
/// the two parties, whatever the channel list says.
struct MessageFilter {
  std::vector<std::string> channels;
  std::string user;

  bool matches(const Message& message) const;
};

}  // namespace relay
