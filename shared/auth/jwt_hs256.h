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

namespace relay {

struct JwtFree {
  void operator()(jwt_t* jwt) const { jwt_free(jwt); }
};
/// Owns a libjwt token.
using JwtPtr = std::unique_ptr<jwt_t, JwtFree>;

/// A new token without claims, or null when the library fails (out of memory).
JwtPtr new_jwt();

/// Signs `jwt` with HMAC-SHA256 under `key` and encodes it; nullopt when the library fails.
std::optional<std::string> encode_hs256(jwt_t* jwt, std::string_view key);

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
