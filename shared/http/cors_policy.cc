#include "shared/http/cors_policy.h"

#include <algorithm>

namespace relay {

bool is_same_origin(std::string_view origin, std::string_view host_header) {
  if (host_header.empty()) return false;
  for (std::string_view scheme : {"http://", "https://"}) {
    if (origin.size() == scheme.size() + host_header.size() &&
        origin.substr(0, scheme.size()) == scheme && origin.substr(scheme.size()) == host_header) {
      return true;
    }
  }
  return false;
}

namespace {

// The page's origin on the request's host at `port`: scheme://name:port, or scheme://name when
// `port` is that scheme's default ("" or 80 / 443).
bool is_page_origin(std::string_view origin, std::string_view host_header,
                    const std::string& port) {
  std::string name = host_name_of(host_header);
  if (name.empty()) return false;
  for (auto [scheme, default_port] :
       {std::pair<std::string_view, std::string_view>{"http://", "80"}, {"https://", "443"}}) {
    std::string with_port = std::string(scheme) + name + ":" + port;
    std::string without_port = std::string(scheme) + name;
    if (!port.empty() && origin == with_port) return true;
    if ((port.empty() || port == default_port) && origin == without_port) return true;
  }
  return false;
}

}  // namespace

bool CorsPolicy::allows(std::string_view origin, std::string_view host_header) const {
  if (!is_serialized_origin(origin)) return false;
  if (!credentialed) return true;
  if (is_same_origin(origin, host_header)) return true;
  if (std::find(allowed_origins.begin(), allowed_origins.end(), origin) != allowed_origins.end()) {
    return true;
  }
  return page_port && is_page_origin(origin, host_header, *page_port);
}

HeaderList CorsPolicy::headers(const std::string& origin, const std::string& host_header) const {
  HeaderList out;
  bool allowed = allows(origin, host_header);
  if (!credentialed) {
    out.emplace_back("Access-Control-Allow-Origin", allowed ? origin : "*");
    if (allowed) out.emplace_back("Vary", "Origin");
  } else {
    out.emplace_back("Vary", "Origin");
    if (!allowed) return out;
    out.emplace_back("Access-Control-Allow-Origin", origin);
    out.emplace_back("Access-Control-Allow-Credentials", "true");
  }
  out.emplace_back("Access-Control-Expose-Headers", "Location, Retry-After");
  return out;
}

HeaderList CorsPolicy::preflight(const std::vector<std::string>& methods, const std::string& origin,
                                 const std::string& host_header) const {
  HeaderList out{{"Allow", join_methods(methods)}};
  if (credentialed && !allows(origin, host_header)) return out;
  out.insert(out.end(),
             {{"Access-Control-Allow-Methods", join_methods(methods)},
              {"Access-Control-Allow-Headers",
               "Content-Type, Idempotency-Key, Authorization, Last-Event-ID, Cache-Control"},
              {"Access-Control-Max-Age", "600"}});
  return out;
}

}  // namespace relay
