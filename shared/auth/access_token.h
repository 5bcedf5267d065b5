#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay {

/// What an access token says: who (`sub`), from which session (`sid`), issued and expiring when
/// (`iat`, `exp`, Unix seconds). A service token (`svc`, e.g. notify-service reading history for
/// the streams it serves) names a service instead of a user: `service` is set and `user` empty,
/// so no user name, registered or not, can ever be mistaken for one.
struct AccessClaims {
  std::string user;
  std::string session_id;
  int64_t issued_at_s = 0;
  int64_t expires_at_s = 0;
  std::string service;
};

/// The one service that holds tokens: notify-service, reading message-service's log.
inline constexpr const char* kNotifyServiceName = "notify-service";

/// The claim that names what a token other than an access token is for (a stream ticket's
/// `use: "stream"`). An access token never has it, and one that has it is never access.
inline constexpr const char* kTokenUseClaim = "use";

/// Signs `claims` as a JWT with HMAC-SHA256 (libjwt) under `key`. Returns nullopt only when the
/// library fails (out of memory). Thread-safe.
std::optional<std::string> sign_access_token(std::string_view key, const AccessClaims& claims);

/// Checks a token signed by sign_access_token: the signature under `key`, the algorithm (exactly
/// HS256: an `alg: none` or other-algorithm token is refused), that `sub` is a valid user name and
/// `sid` present (or, for a service token, `svc` a known service), that it has no `use` claim (a
/// stream ticket is not an access token), and that it has not expired at `now_s`. Returns the
/// claims, or nullopt for any
/// token that fails a check. Never throws; safe on hostile input. Thread-safe.
std::optional<AccessClaims> verify_access_token(std::string_view key, std::string_view token,
                                                int64_t now_s);

}  // namespace relay
