#include "shared/auth/stream_ticket.h"

#include "shared/auth/access_token.h"
#include "shared/auth/auth_key.h"
#include "shared/auth/jwt_hs256.h"
#include "shared/validation.h"

namespace relay {

namespace {

constexpr const char* kStreamUse = "stream";
constexpr size_t kTicketIdBytes = 16;

bool is_ticket_id(std::string_view id) {
  if (id.size() != 2 * kTicketIdBytes) return false;
  for (char c : id) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

}  // namespace

std::optional<StreamTicket> new_stream_ticket(const std::string& user, int64_t now_s) {
  std::string id = random_hex(kTicketIdBytes);
  if (id.empty()) return std::nullopt;
  return StreamTicket{user, std::move(id), now_s, now_s + kStreamTicketTtlS};
}

std::optional<std::string> sign_stream_ticket(std::string_view key, const StreamTicket& ticket) {
  return sign_hs256(key, {{kTokenUseClaim, kStreamUse}, {"sub", ticket.user}, {"jti", ticket.id}},
                    ticket.issued_at_s, ticket.expires_at_s);
}

std::optional<StreamTicket> verify_stream_ticket(std::string_view key, std::string_view token,
                                                 int64_t now_s) {
  JwtPtr jwt = decode_hs256(key, token);
  if (!jwt) return std::nullopt;
  const char* use = jwt_get_grant(jwt.get(), kTokenUseClaim);
  const char* user = jwt_get_grant(jwt.get(), "sub");
  const char* id = jwt_get_grant(jwt.get(), "jti");
  if (use == nullptr || std::string_view(use) != kStreamUse || user == nullptr || id == nullptr ||
      !is_ticket_id(id)) {
    return std::nullopt;
  }
  auto issued_at = int_claim(jwt.get(), "iat");
  auto expires_at = int_claim(jwt.get(), "exp");
  // In this order no subtraction can overflow, whatever the claims say.
  if (!issued_at || !expires_at || *expires_at <= now_s ||
      *expires_at > now_s + kMaxStreamTicketLifetimeS ||
      *issued_at < *expires_at - kMaxStreamTicketLifetimeS) {
    return std::nullopt;
  }
  StreamTicket ticket{user, id, *issued_at, *expires_at};
  if (!is_valid_user_name(ticket.user)) return std::nullopt;
  return ticket;
}

}  // namespace relay
