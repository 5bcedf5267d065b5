#include "shared/auth/jwt_hs256.h"

#include <cerrno>
#include <cstdlib>

namespace relay {

namespace {

// Longer than any token we issue; a larger one is refused before the library sees it.
constexpr size_t kMaxTokenBytes = 2048;

bool is_base64url(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

}  // namespace

std::optional<std::string> sign_hs256(
    std::string_view key, const std::vector<std::pair<const char*, std::string>>& strings,
    int64_t issued_at_s, int64_t expires_at_s) {
  jwt_t* raw = nullptr;
  if (jwt_new(&raw) != 0) return std::nullopt;
  JwtPtr jwt(raw);
  for (const auto& [name, value] : strings) {
    if (jwt_add_grant(jwt.get(), name, value.c_str()) != 0) return std::nullopt;
  }
  if (jwt_add_grant_int(jwt.get(), "iat", static_cast<long>(issued_at_s)) != 0 ||
      jwt_add_grant_int(jwt.get(), "exp", static_cast<long>(expires_at_s)) != 0 ||
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

JwtPtr decode_hs256(std::string_view key, std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenBytes || key.empty()) return nullptr;
  // Three base64url parts: anything else never reaches the library.
  size_t dots = 0;
  for (char c : token) {
    if (c == '.') {
      ++dots;
    } else if (!is_base64url(c)) {
      return nullptr;
    }
  }
  if (dots != 2) return nullptr;
  std::string text(token);  // the library wants a NUL-terminated string
  jwt_t* raw = nullptr;
  if (jwt_decode(&raw, text.c_str(), reinterpret_cast<const unsigned char*>(key.data()),
                 static_cast<int>(key.size())) != 0) {
    return nullptr;
  }
  JwtPtr jwt(raw);
  // jwt_decode accepts an unsigned (`alg: none`) token even when given a key: insist on ours.
  if (jwt_get_alg(jwt.get()) != JWT_ALG_HS256) return nullptr;
  return jwt;
}

std::optional<int64_t> int_claim(jwt_t* jwt, const char* name) {
  errno = 0;
  long value = jwt_get_grant_int(jwt, name);
  if (errno != 0) return std::nullopt;
  return value;
}

bool has_claim(jwt_t* jwt, const char* name) {
  char* json = jwt_get_grants_json(jwt, name);
  if (json == nullptr) return false;
  std::free(json);
  return true;
}

}  // namespace relay
