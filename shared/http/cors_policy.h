#pragma once

// Which web pages may read a service's answers across origins (CORS), decided in one place for
// every answer, preflight and stream of both services.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "shared/http_rules.h"

namespace relay {

/// True when `origin` is the request's own: "http://" or "https://" followed by its Host header.
bool is_same_origin(std::string_view origin, std::string_view host_header);

/// The CORS rule of one service. Immutable once the server starts; any thread.
///
/// Open (AUTH_MODE=open, the default): any page may read, without credentials. An answer carries
/// `Access-Control-Allow-Origin: *`, or a well-formed Origin echoed with `Vary: Origin`.
///
/// Credentialed (AUTH_MODE=accounts): answers are personal, so only trusted pages may read them,
/// cookies included. A request whose Origin is allowed gets exactly that origin in
/// `Access-Control-Allow-Origin` with `Access-Control-Allow-Credentials: true`; any other Origin
/// (or none) gets neither (never `*`). Every answer says `Vary: Origin`. Allowed are: the request's
/// own origin, ALLOWED_ORIGINS, and with `page_port` the page's origin on the request's own host
/// at that port (notify-service: message-service's port, where the chat page comes from).
struct CorsPolicy {
  bool credentialed = false;
  std::vector<std::string> allowed_origins;  // exact serialized origins
  /// The port of the page's origin on the request's own host name; "" for the scheme's default
  /// port (an Origin without a port). nullopt: no such page.
  std::optional<std::string> page_port;

  /// True when a page of `origin` may read answers to a request with Host `host_header`.
  bool allows(std::string_view origin, std::string_view host_header) const;

  /// The CORS headers of any answer to a request with these Origin (empty when none) and Host.
  HeaderList headers(const std::string& origin, const std::string& host_header) const;

  /// The headers of the 204 answer to a preflight on a path allowing `methods` (with headers()).
  HeaderList preflight(const std::vector<std::string>& methods, const std::string& origin,
                       const std::string& host_header) const;
};

}  // namespace relay
