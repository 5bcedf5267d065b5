#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "notify-service/id_guard.h"
#include "notify-service/stream_session.h"
#include "shared/private_channels.h"

namespace relay {

/// A HistoryFetch that reads message-service's event log (messages and receipts),
/// GET /log?after=&limit=&channel=&user=, at `base_url`, with the store's newest id from the
/// answer's "last_id" when it carries one. Each call opens its own connection, so any thread may
/// call it.
/// `credential`, when set, gives the Authorization value each request carries (AUTH_MODE=accounts:
/// a short-lived service token); it must be callable from any thread.
using ServiceCredential = std::function<std::string()>;
HistoryFetch make_history_fetch(std::string base_url, ServiceCredential credential = {});

/// Reads the store's newest id from message-service at `base_url` (GET /log?after=0&limit=1,
/// its "last_id"), waiting at most about a second. nullopt when message-service cannot be reached,
/// answers anything but a 200, or its answer has no valid "last_id". Blocks; any thread.
std::optional<int64_t> fetch_store_last_id(const std::string& base_url,
                                           const ServiceCredential& credential = {});

/// fetch_store_last_id bound to `base_url`, for IdGuard.
StoreLastIdFetch make_store_last_id_fetch(std::string base_url, ServiceCredential credential = {});

/// Reads message-service's private channel table (GET /memberships, with `credential`), waiting
/// at most a few seconds. nullptr when it cannot be reached or answers anything but a valid table.
/// Blocks; any thread.
PrivateChannelsPtr fetch_private_channels(const std::string& base_url,
                                          const ServiceCredential& credential);

/// Reads a /log answer's body: its events and its "last_id" (a string of digits, or an integer).
/// nullopt when the body is not such an answer. Pure: exposed for tests.
std::optional<HistoryPage> parse_log_answer(std::string_view body);

}  // namespace relay
