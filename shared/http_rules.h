#pragma once

// The HTTP behaviour both services share whatever server library carries it: the route table
// (metrics labels, 405 and preflight answers), CORS headers and the standard JSON errors.
// Plain C++: no server library is included here.

#include <regex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/validation.h"

namespace relay {

/// Response headers as name/value pairs, in the order they are sent.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// The routes a service answers: a path pattern, the label used in metrics and logs, and the
/// methods allowed on it (used for 405 and CORS preflight answers).
class RouteTable {
 public:
  void add(const std::string& pattern, std::string label, std::vector<std::string> methods);

  /// The metrics label for a request path ("other" for unknown paths, to bound cardinality).
  const std::string& label_for(const std::string& path) const;
  /// Methods allowed on a path; empty when the path is unknown.
  const std::vector<std::string>* methods_for(const std::string& path) const;

 private:
  struct Route {
    std::regex pattern;
    std::string label;
    std::vector<std::string> methods;
  };
  std::vector<Route> routes_;
};

/// "GET, POST, OPTIONS".
std::string join_methods(const std::vector<std::string>& methods);

/// True for a well-formed serialized origin (RFC 6454): "http" or "https", "://", a host of
/// [A-Za-z0-9.-] or a bracketed IPv6 literal, an optional ":" and 1 to 5 digits, nothing else
/// (no path, no "null", no spaces or control bytes). Only such a value is ever echoed.
bool is_serialized_origin(std::string_view origin);

/// The CORS headers of any response to a request whose Origin header is `origin` (empty when it
/// had none): the origin is echoed when is_serialized_origin() holds, else the answer is the one
/// for no Origin (`*`), so nothing a client sent reaches the response head unchecked.
HeaderList cors_headers(const std::string& origin);

/// The extra headers of the 204 answer to a CORS preflight on a path allowing `methods`.
HeaderList preflight_headers(const std::vector<std::string>& methods);

/// The error for `method path` when no route takes it: 405 (with the allowed methods) when the path
/// is known, else 404.
ApiError no_route_error(const RouteTable& routes, const std::string& method,
                        const std::string& path);

/// 413 for a body above `max_body_bytes`.
ApiError payload_too_large_error(size_t max_body_bytes);

/// True when a Content-Type header value names application/json (any case, parameters such as
/// charset allowed).
bool is_json_content_type(std::string_view content_type);

/// True when an Authorization header value is `Bearer <token>` (scheme in any case) for exactly
/// `token`. The comparison takes the same time wherever the values differ (the token is a secret);
/// an empty `token` never matches.
bool bearer_token_matches(std::string_view authorization, std::string_view token);

/// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses.
bool is_loopback_address(const std::string& address);

}  // namespace relay
