#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace relay {

/// Passwords are kept only as Argon2id hashes (libargon2), in the library's encoded form
/// (`$argon2id$v=19$m=...,t=...,p=...$salt$hash`), each with its own random salt. Costs follow
/// OWASP's minimum for Argon2id (19 MiB, 2 passes, 1 lane): tens of milliseconds of one core, so
/// callers run these on a worker, never on a loop. Thread-safe.

/// The encoded hash of `password`, or nullopt when the library or the random source fails.
std::optional<std::string> hash_password(std::string_view password);

/// True when `password` matches `encoded`. With `encoded` empty (no such user) it still spends the
/// time of one check against a fixed hash and returns false, so an unknown user and a wrong
/// password take about the same time.
bool verify_password(std::string_view password, const std::string& encoded);

}  // namespace relay
