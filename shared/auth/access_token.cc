#include "shared/auth/access_token.h"

#include <jwt.h>

#include <cerrno>
#include <cstdlib>
#include <memory>

#include "shared/validation.h"

namespace relay {

namespace {

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

// Longer than any token we issue; a larger one is refused before the library sees it.
constexpr size_t kMaxTokenBytes = 2048;

}  // namespace

std::optional<std::string> sign_access_token(std::string_view key, const AccessClaims& claims) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return std::nullopt;
  JwtPtr jwt(raw);
  const std::string& subject = claims.service.empty() ? claims.user : claims.service;
  if ((!claims.service.empty() && jwt_add_grant(jwt.get(), "svc", claims.service.c_str()) != 0) ||
      jwt_add_grant(jwt.get(), "sub", subject.c_str()) != 0 ||
      jwt_add_grant(jwt.get(), "sid", claims.session_id.c_str()) != 0 ||
      jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(claims.issued_at_s)) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(claims.expires_at_s)) != 0 ||
      jwt_set_alg(jwt.get(), JWT_ALG_HS256, reinterpret_cast<const unsigned char*>(key.data()),
                  static_cast<int>(key.size())) != 0) {
    return std::nullopt;
  }
  char* encoded = jwt_encode_str(jwt.get());
  if (encoded == nullptr) return std::nullopt;
  std::string token(encoded);
  std::free(encoded);  // libjwt 1.10 allocates it with malloc
  return token;
}

std::optional<AccessClaims> verify_access_token(std::string_view key, std::string_view token,
                                                int64_t now_s) {
  if (token.empty() || token.size() > kMaxTokenBytes || key.empty()) return std::nullopt;
  // Three base64url parts: anything else never reaches the library.
  size_t dots = 0;
  for (char c : token) {
    if (c == '.') {
      ++dots;
    } else if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '-' || c == '_')) {
      return std::nullopt;
    }
  }
  if (dots != 2) return std::nullopt;
  std::string text(token);  // the library wants a NUL-terminated string
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                 static_cast<int>(key.size())) != 0) {
    return std::nullopt;
  }
  JwtPtr jwt(raw);
  // jwt_decode accepts an unsigned (`alg: none`) token even when given a key: insist on ours.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return std::nullopt;
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
  errno = 0;
  claims.issued_at_s = jwt_get_grant_int(jwt.get(), "iat");
  if (errno != 0) return std::nullopt;
  claims.expires_at_s = jwt_get_grant_int(jwt.get(), "exp");
  if (errno != 0) return std::nullopt;
  if (claims.expires_at_s <= now_s) return std::nullopt;
  return claims;
}

}  // namespace relay
