#pragma once

// Small HTTP rules both services share: origins and hosts, the standard 413 error, and what
// counts as a loopback peer (CORS itself is shared/http/cors_policy.h). Plain C++: no server is
// included here.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/validation.h"

namespace relay {

/// Response headers as name/value pairs, in the order they are sent.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// True when `a` and `b` are equal ignoring ASCII case (header names, tokens).
bool equals_ignoring_case(std::string_view a, std::string_view b);

/// True when `text` is a non-empty token of RFC 9110 5.6.2 (methods, header names).
bool is_http_token(std::string_view text);

/// "GET, POST, OPTIONS".
std::string join_methods(const std::vector<std::string>& methods);

/// True for a well-formed serialized origin (RFC 6454): "http" or "https", "://", a host of
/// [A-Za-z0-9.-] or a bracketed IPv6 literal, an optional ":" and 1 to 5 digits, nothing else
/// (no path, no "null", no spaces or control bytes). Only such a value is ever echoed.
bool is_serialized_origin(std::string_view origin);

/// The host name of a Host header ("chat.example:8080" -> "chat.example", "[::1]:80" -> "[::1]")
/// when it is a plain name, IPv4 or bracketed IPv6 literal (so it can go into a header or a
/// policy), else "".
std::string host_name_of(std::string_view host_header);

/// The port of a URL's authority ("http://a:8081" -> "8081"; "https://a" -> "443", else "80").
std::string url_port(std::string_view url);

/// 413 for a body above `max_body_bytes`.
ApiError payload_too_large_error(size_t max_body_bytes);

/// True when a Content-Type header value names application/json (any case, parameters such as
/// charset allowed).
bool is_json_content_type(std::string_view content_type);

/// The credential of an `Authorization: Bearer <token>` value (scheme in any case), or "" when
/// the value has another form.
std::string_view bearer_token(std::string_view authorization);
/// True when an Authorization header value is `Bearer <token>` (scheme in any case) for exactly
/// `token`. The comparison takes the same time wherever the values differ (the token is a secret);
/// an empty `token` never matches.
bool bearer_token_matches(std::string_view authorization, std::string_view token);

/// True for 127.0.0.0/8, ::1 and IPv4-mapped loopback addresses.
bool is_loopback_address(const std::string& address);

}  // namespace relay
