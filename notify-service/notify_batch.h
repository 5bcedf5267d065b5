#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <variant>
#include <vector>

#include "shared/message.h"
#include "shared/validation.h"

namespace relay {

/// The largest id POST /notify takes: 2^53 - 1, the largest integer a JavaScript client (the chat
/// page) reads exactly. Ids come from SQLite's rowid sequence; no real store gets near it.
inline constexpr int64_t kMaxNotifyId = 9007199254740991;

/// The most items one POST /notify body may hold (message-service sends at most 10,000).
inline constexpr size_t kMaxNotifyBatchItems = 100000;

/// Reads the body of POST /notify: one message object (messages, receipts, typing, in their wire
/// form) or an array of them, and returns them sorted by id (stable: typing, id 0, first), or a
/// 400 saying what is wrong: `invalid_json` (not JSON), `too_many_messages` (more than
/// kMaxNotifyBatchItems items), `invalid_message` (an item, or a body that is neither an array nor
/// an object, that is not a valid message, a channel that is not a channel name, an `id` or receipt
/// `message_id` not in 1..kMaxNotifyId). Never throws and never recurses on the input's nesting, so
/// any bytes are safe: a fuzz target calls it with arbitrary input. Pure: no state, any thread.
std::variant<std::vector<Message>, ApiError> parse_notify_batch(std::string_view body);

}  // namespace relay
