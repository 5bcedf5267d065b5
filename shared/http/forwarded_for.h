#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "shared/http/http_request.h"

namespace relay {

/// The client address a request stands for: the TCP peer itself, unless the peer is one of
/// `trusted_proxies` (TRUSTED_PROXIES: the proxies in front, such as nginx) and the request
/// carries X-Forwarded-For; then its last element, the address that proxy saw, when it is an IPv4
/// or IPv6 address. Anyone else's X-Forwarded-For is ignored, so a client cannot choose the
/// address its per-address limits count under. Pure; any thread.
std::string client_address(const std::string& peer, const std::vector<std::string>& trusted_proxies,
                           const HttpRequest& request);

/// True for an IPv4 or IPv6 address in text form (nothing else: no port, no brackets).
bool is_ip_address(std::string_view text);

}  // namespace relay
