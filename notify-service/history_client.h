#pragma once

#include <string>

#include "notify-service/stream_session.h"

namespace relay {

/// A HistoryFetch that reads message-service's event log (messages and receipts),
/// GET /log?after=&limit=&channel=&user=, at
/// `base_url`. Each call opens its own connection, so any thread may call it.
HistoryFetch make_history_fetch(std::string base_url);

}  // namespace relay
