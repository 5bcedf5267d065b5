#pragma once

#include <cstdint>
#include <string>

namespace relay {

/// Milliseconds since the Unix epoch, from the system clock.
int64_t now_unix_ms();

/// Formats a Unix time in milliseconds as RFC 3339 UTC with milliseconds:
/// "2026-11-23T15:22:03.123Z".
std::string format_rfc3339_ms(int64_t unix_ms);

}  // namespace relay
