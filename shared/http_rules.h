#pragma once

// Small HTTP rules both services share: CORS and preflight headers, the standard 413 error, and
// what counts as a loopback peer. Plain C++: no server is included here.

#include <string>
#include <utility>
#include <vector>

#include "shared/validation.h"

namespace relay {

/// Response headers as name/value pairs, in the order they are sent.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// "GET, POST, OPTIONS".
std::string join_methods(const std::vector<std::string>& methods);

/// The CORS headers of any response to a request whose Origin header is `origin` (empty when it
/// had none): the origin is echoed, or `*` without one.
HeaderList cors_headers(const std::string& origin);

/// The extra headers of the 204 answer to a CORS preflight on a path allowing `methods`.
HeaderList preflight_headers(const std::vector<std::string>& methods);

/// 413 for a body above `max_body_bytes`.
ApiError payload_too_large_error(size_t max_body_bytes);

/// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses.
bool is_loopback_address(const std::string& address);

}  // namespace relay
