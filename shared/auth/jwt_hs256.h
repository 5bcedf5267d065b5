#pragma once

// The JWT mechanics both of our token kinds share (access tokens, stream tickets): libjwt
// ownership, HMAC-SHA256 signing, and a decode that refuses anything but a well-formed HS256
// token before the claims are looked at. Each kind checks its own claims on top.

#include <jwt.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relay {

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
/// Owns a libjwt token.
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

/// A JWT with the string claims `strings` and the times `iat` and `exp` (Unix seconds), signed
/// with HMAC-SHA256 under `key`; nullopt only when the library fails (out of memory).
std::optional<std::string> sign_hs256(
    std::string_view key, const std::vector<std::pair<const char*, std::string>>& strings,
    int64_t issued_at_s, int64_t expires_at_s);

/// Decodes `token` and checks its signature under `key`: null for a token that is empty, longer
/// than 2048 bytes, not three base64url parts, signed under another key, altered, or of any
/// algorithm but HS256 (`alg: none` included). Claims are the caller's to check. Never throws;
/// safe on hostile input. Thread-safe.
JwtPtr decode_hs256(std::string_view key, std::string_view token);

/// The integer claim `name`, or nullopt when it is absent or not an integer.
std::optional<int64_t> int_claim(jwt_t* jwt, const char* name);

/// True when the token has a claim `name` of any type.
bool has_claim(jwt_t* jwt, const char* name);

}  // namespace relay
