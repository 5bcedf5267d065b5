#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace relay {

struct PrivateChannels;

/// What an event carries. Messages and receipts are stored and share one id sequence (so one
/// Last-Event-ID covers both); typing, presence and membership changes are transient: no id, never
/// stored or replayed.
enum class EventKind { kMessage, kReceipt, kTyping, kPresence, kMembership };

/// The wire name of a kind: "message", "receipt", "typing", "presence", "membership" (also the SSE
/// event name).
const char* kind_name(EventKind kind);

/// One chat event; most often a stored chat message. `id` is assigned by message-service's store
/// and strictly increases; it is also the SSE event id (0 for transient kinds). An empty `to`
/// means a channel event; otherwise it concerns a direct conversation between `user` and `to`.
struct Message {
  int64_t id = 0;
  std::string content;
  std::string user;     // the sender; for a receipt the reader; for typing/presence the user
  std::string channel;  // for presence: empty = every channel
  std::string to;
  int64_t timestamp_ms = 0;
  EventKind kind = EventKind::kMessage;
  int64_t message_id = 0;  // receipt: the message acknowledged
  std::string status;      // receipt: "delivered" | "read"; presence: "join" | "leave";
                       // membership: "added" | "removed" (`user` joined or left private `channel`)
};

/// The wire form. A message: {"id": "<digits>", "content", "user", "channel", "to" (only for a
/// DM), "timestamp": RFC 3339 UTC with milliseconds}. Other kinds carry "type" too: a receipt
/// {"type", "id", "message_id", "user", "status", "channel", "to"?, "timestamp"}, typing {"type",
/// "user", "channel" | "to", "timestamp"}, presence {"type", "user", "channel" (null = every
/// channel), "state", "timestamp"}.
nlohmann::json message_to_json(const Message& message);

/// The wire form with "type" always set (also "message"): what streams and GET /log carry.
nlohmann::json event_to_json(const Message& message);

/// The same wire forms as text, byte for byte dump_json(message_to_json(m)) and
/// dump_json(event_to_json(m)), written without a DOM (once per message on the hot paths).
/// `extra` fields (views that must outlive the call) are added to the object, as message_reply
/// adds "status" and "receipts".
std::string message_json(const Message& message);
std::string event_json(const Message& message);
class FlatJsonObject;
void append_message_json(const Message& message, bool with_type, FlatJsonObject* extra,
                         std::string* out);

/// Reads the wire form of a message, a receipt or typing back (as sent to POST /notify; "type"
/// absent means a message). `id` may be a string of digits or a positive integer (typing has
/// none); `timestamp` must be RFC 3339 UTC as written by message_to_json. Keys the kind's wire
/// form does not have (`content` on a receipt or typing) are ignored, so message_to_json of what
/// is read reads back the same. Never throws: on failure returns nullopt and sets `*error` to what
/// is wrong.
std::optional<Message> message_from_json(const nlohmann::json& value, std::string* error);

/// A JSON object's top-level fields as a reader found them, without a DOM: what
/// message_from_wire reads (POST /notify's reader fills one per item as it parses). A value that
/// is not null, a string or an integer (a float, a bool, an object, an array) is kOther and not
/// kept, and so is every key message_from_wire does not read; a key given twice keeps its last
/// value, as a DOM does. Reusable: clear() keeps the strings' capacity for the next object. Not
/// thread-safe; a local value.
struct WireObject {
  struct Value {
    enum class Type { kNull, kString, kSigned, kUnsigned, kOther };
    Type type = Type::kOther;
    std::string text;             // kString
    int64_t signed_value = 0;     // kSigned (a negative integer)
    uint64_t unsigned_value = 0;  // kUnsigned (a non-negative integer)
  };
  /// The slot for `key`: the one it had, or a new one of type kOther; nullptr for a key
  /// message_from_wire never reads (its value need not be kept).
  Value* set(std::string_view key);
  /// The value of `key`, or nullptr when the object has none.
  const Value* find(std::string_view key) const;
  void clear() { used = 0; }

  std::vector<std::pair<std::string, Value>> fields;  // [0, used) are this object's
  size_t used = 0;
};

/// message_from_json's rules, over fields read without a DOM: the same message, or the same
/// error, for the same object. Never throws.
std::optional<Message> message_from_wire(const WireObject& object, std::string* error);

/// Serialises JSON without ever throwing (invalid UTF-8 is replaced, though inputs are validated
/// long before they reach here).
std::string dump_json(const nlohmann::json& value);

/// Which events one reader may see. Channel events are visible when `channels` is empty (every
/// channel) or names the event's channel. Direct ones are visible only when `user` is one of the
/// two parties, whatever the channel list says. Presence for every channel is visible to all.
/// Private channels: an event of a channel in `hidden_channels`, or of a private channel of
/// `private_channels` that `user` is not a member of, is never visible; a membership change is
/// visible to the user it concerns and to the channel's members (and, like every channel event,
/// only on streams following that channel).
struct MessageFilter {
  std::vector<std::string> channels;
  std::string user;
  std::vector<std::string> hidden_channels;  // set by message-service's reads, usually empty

  bool matches(const Message& message, const PrivateChannels* private_channels = nullptr) const;
};

}  // namespace relay
