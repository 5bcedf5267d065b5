#include "shared/auth/access_token.h"

#include "shared/auth/jwt_hs256.h"
#include "shared/validation.h"

namespace relay {

std::optional<std::string> sign_access_token(std::string_view key, const AccessClaims& claims) {
  std::vector<std::pair<const char*, std::string>> strings;
  if (!claims.service.empty()) strings.emplace_back("svc", claims.service);
  strings.emplace_back("sub", claims.service.empty() ? claims.user : claims.service);
  strings.emplace_back("sid", claims.session_id);
  return sign_hs256(key, strings, claims.issued_at_s, claims.expires_at_s);
}

std::optional<AccessClaims> verify_access_token(std::string_view key, std::string_view token,
                                                int64_t now_s) {
  JwtPtr jwt = decode_hs256(key, token);
  if (!jwt) return std::nullopt;
  // A token of another kind (a stream ticket says what it is for in `use`) is never access.
  if (has_claim(jwt.get(), kTokenUseClaim)) return std::nullopt;
  const char* user = jwt_get_grant(jwt.get(), "sub");
  const char* session = jwt_get_grant(jwt.get(), "sid");
  if (user == nullptr || session == nullptr || *session == '\0') return std::nullopt;
  AccessClaims claims;
  claims.session_id = session;
  if (const char* service = jwt_get_grant(jwt.get(), "svc"); service != nullptr) {
    if (std::string_view(service) != kNotifyServiceName || std::string_view(user) != service) {
      return std::nullopt;
    }
    claims.service = service;
  } else {
    claims.user = user;
    if (!is_valid_user_name(claims.user)) return std::nullopt;
  }
  auto issued_at = int_claim(jwt.get(), "iat");
  auto expires_at = int_claim(jwt.get(), "exp");
  if (!issued_at || !expires_at || *expires_at <= now_s) return std::nullopt;
  claims.issued_at_s = *issued_at;
  claims.expires_at_s = *expires_at;
  return claims;
}

}  // namespace relay
