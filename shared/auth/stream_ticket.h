#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay {

/// A stream ticket: a short-lived, single-use credential that opens one event stream where a
/// browser can neither send a header (EventSource) nor count on the access cookie reaching
/// notify-service (another host). message-service issues it to a signed-in caller (POST
/// /auth/stream-ticket); notify-service takes it only as `GET /events?ticket=`, verifies it with
/// the shared key, and remembers its id until it expires so it opens one stream (UsedTickets).
/// On the wire an HS256 JWT with `use: "stream"`, `sub` (the user), `jti` (the id), `iat`, `exp`
/// and no `sid`: an access token (no `use`) never passes as a ticket, nor a ticket as one.
struct StreamTicket {
  std::string user;
  std::string id;  // 32 lower-case hex digits, random
  int64_t issued_at_s = 0;
  int64_t expires_at_s = 0;
};

/// How long a ticket issued by message-service is valid: enough to open a stream right away.
inline constexpr int64_t kStreamTicketTtlS = 30;
/// The longest a ticket may live, whoever signed it: verification refuses one whose `exp` is more
/// than this after its `iat` or after now. This is what bounds notify-service's memory of ids.
inline constexpr int64_t kMaxStreamTicketLifetimeS = 60;

/// A ticket for `user` issued at `now_s`, valid kStreamTicketTtlS, with a random id; nullopt when
/// the kernel gives no random bytes. Thread-safe.
std::optional<StreamTicket> new_stream_ticket(const std::string& user, int64_t now_s);

/// The JWT of `ticket` signed under `key`; nullopt only when the library fails. Thread-safe.
std::optional<std::string> sign_stream_ticket(std::string_view key, const StreamTicket& ticket);

/// Checks a ticket made by sign_stream_ticket: the HS256 signature under `key` (another algorithm,
/// `alg: none` or an altered token is refused), `use` exactly "stream", `sub` a valid user name,
/// `jti` 32 lower-case hex digits, not expired at `now_s`, and living no longer than
/// kMaxStreamTicketLifetimeS. Does not know whether it was used before (the caller does). Returns
/// the ticket, or nullopt. Never throws; safe on hostile input. Thread-safe.
std::optional<StreamTicket> verify_stream_ticket(std::string_view key, std::string_view token,
                                                 int64_t now_s);

}  // namespace relay
