#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "shared/message.h"

namespace relay {

/// A refusal to send back to a client: HTTP status, a stable machine-readable code and a sentence
/// saying what to fix. Rendered as {"error": code, "detail": detail}.
struct ApiError {
  int status = 400;
  std::string code;
  std::string detail;
};

/// The JSON body for an ApiError.
std::string error_body(const ApiError& error);

inline constexpr size_t kMaxNameBytes = 64;
inline constexpr std::string_view kDefaultUser = "anonymous";
inline constexpr std::string_view kDefaultChannel = "general";

/// True when `text` is well-formed UTF-8 (no overlongs, no surrogates, nothing above U+10FFFF).
bool is_valid_utf8(std::string_view text);

/// True for a channel name: 1 to 64 characters from [A-Za-z0-9_.-].
bool is_valid_channel(std::string_view name);

/// True for a user name: 1 to 64 bytes of well-formed UTF-8 without the code points a terminal
/// interprets: C0 controls and DEL, C1 controls U+0080..U+009F, and the invisible format and bidi
/// controls U+061C, U+200B..U+200F, U+2028..U+202E, U+2060..U+2064, U+2066..U+2069, U+FEFF.
bool is_valid_user_name(std::string_view name);

/// A message a client asked to post, validated and with defaults applied; not yet stored.
struct MessageDraft {
  std::string content;
  std::string user;
  std::string channel;
  std::string to;

  bool operator==(const MessageDraft&) const = default;
};

/// Validates the body of POST /messages. `content` must be a non-empty string of at most
/// `max_content_bytes` bytes (413 past that); `user`, `channel` and `to` are optional.
/// `caller`: the signed-in user (AUTH_MODE=accounts), empty when identity is self-declared; see
/// check_claimed_user() for what that changes about "user".
std::variant<MessageDraft, ApiError> parse_message_request(std::string_view body,
                                                           size_t max_content_bytes,
                                                           const std::string& caller = {});

/// A validated POST /typing: `user` types in `channel`, or (with `to`) in a direct conversation.
struct TypingDraft {
  std::string user;
  std::string channel;  // empty when `to` is set
  std::string to;
};

/// Validates the body of POST /typing: `user` is required (unless `caller` is set, see
/// check_claimed_user()); `channel` (default general) or `to`.
std::variant<TypingDraft, ApiError> parse_typing_request(std::string_view body,
                                                         const std::string& caller = {});

/// A validated POST /messages/{id}/receipts body.
struct ReceiptDraft {
  std::string user;
  std::string status;  // "delivered" | "read"
};

/// Validates the body of POST /messages/{id}/receipts: `user` (unless `caller` is set, see
/// check_claimed_user()) and `status` are required.
std::variant<ReceiptDraft, ApiError> parse_receipt_request(std::string_view body,
                                                           const std::string& caller = {});

/// A validated POST /channels body: {"name", "private"?: bool (default false)}.
struct ChannelDraft {
  std::string name;
  bool is_private = false;
};
std::variant<ChannelDraft, ApiError> parse_channel_request(std::string_view body);

/// Validates the body of POST /channels/{name}/members: {"user"} (required, a user name).
std::variant<std::string, ApiError> parse_member_request(std::string_view body);

/// The rule for a "user" a signed-in client sends (in a body or a query): with `caller` set, the
/// claimed name must be absent (`present` false) or exactly the caller's, else 403 `forbidden`;
/// nobody acts or reads in another's name. With `caller` empty (AUTH_MODE=open) any name goes.
std::optional<ApiError> check_claimed_user(std::string_view claimed, bool present,
                                           const std::string& caller);

/// Builds a reader's filter from the query values `channels` (comma-separated, empty = every
/// channel) and `user` (empty = no direct messages).
std::variant<MessageFilter, ApiError> parse_filter(std::string_view channels_csv,
                                                   std::string_view user);

/// Parses a non-negative decimal integer (an event id, a limit). Rejects signs, spaces and
/// anything that does not fit in int64.
std::optional<int64_t> parse_non_negative(std::string_view text);

/// True for 1 to `max_bytes` printable ASCII characters without spaces (keys, client ids).
bool is_printable_token(std::string_view text, size_t max_bytes);

/// True for an Idempotency-Key value: 1 to 200 printable ASCII characters.
bool is_valid_idempotency_key(std::string_view key);

}  // namespace relay
