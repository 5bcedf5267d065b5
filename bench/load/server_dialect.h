#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "bench/load/load_options.h"
#include "bench/load/load_stamp.h"
#include "shared/sse.h"

namespace relay::load {

// How the servers sse_load drives differ on the wire, as plain functions (no sockets).
//
// relay: `GET /events?client_id=...` answers 200 with a chunked body that opens with `retry:` and
// `event: connected`; each message is `id: <decimal>` / `event: message` / `data: <JSON>` with the
// load stamp in the JSON's "content".
// nchan (EventSource subscriber, as nginx-light 1.22 + libnginx-mod-nchan on Debian 12 send it):
// 200 with `Content-Type: text/event-stream; charset=utf-8`, neither chunked nor a length (the body
// ends when the connection does), then a `: hi` comment and a blank line; each message is
// `id: <seconds>:<index>` / `data: <the published body>` (one `data:` per body line, no `event:`).

/// The request that opens stream `index` on 127.0.0.1:`port`: relay `GET /events?client_id=
/// load-<index>`, nchan `GET <nchan_path>` (every stream on the same channel).
std::string subscribe_request(Target target, int port, std::string_view nchan_path, size_t index);

/// True when a stream counts as open as soon as its first body bytes arrive (nchan, whose `: hi`
/// is all it sends), false when it waits for an `event: connected` (relay).
bool opens_on_first_bytes(Target target);

/// The load stamp an event carries: relay's in its JSON data's "content", nchan's as the data
/// itself. nullopt for an event that is not a load message.
std::optional<LoadStamp> stamp_of(Target target, const SseEvent& event);

/// The server's order of an event, to judge order by when publishers race: relay's decimal id;
/// nchan's `<seconds>:<index>` id (publish second, then a counter within it) as
/// seconds × 2^32 + index. nullopt when the event has no id of that form.
std::optional<uint64_t> server_order_of(Target target, const SseEvent& event);

/// nchan's `<seconds>:<index>` event id as seconds × 2^32 + index; nullopt for any other text
/// (including ids of multi-channel subscriptions, which sse_load does not use).
std::optional<uint64_t> parse_nchan_event_id(std::string_view id);

}  // namespace relay::load
