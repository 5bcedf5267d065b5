#include "shared/http_rules.h"

#include <algorithm>

namespace relay {

void RouteTable::add(const std::string& pattern, std::string label,
                     std::vector<std::string> methods) {
  if (std::find(methods.begin(), methods.end(), "OPTIONS") == methods.end()) {
    methods.push_back("OPTIONS");
  }
  routes_.push_back(Route{std::regex(pattern), std::move(label), std::move(methods)});
}

const std::string& RouteTable::label_for(const std::string& path) const {
  static const std::string kOther = "other";
  for (const auto& route : routes_) {
    if (std::regex_match(path, route.pattern)) return route.label;
  }
  return kOther;
}

const std::vector<std::string>* RouteTable::methods_for(const std::string& path) const {
  for (const auto& route : routes_) {
    if (std::regex_match(path, route.pattern)) return &route.methods;
  }
  return nullptr;
}

std::string join_methods(const std::vector<std::string>& methods) {
  std::string out;
  for (const auto& method : methods) {
    if (!out.empty()) out += ", ";
    out += method;
  }
  return out;
}

HeaderList cors_headers(const std::string& origin) {
  HeaderList headers;
  if (origin.empty()) {
    headers.emplace_back("Access-Control-Allow-Origin", "*");
  } else {
    headers.emplace_back("Access-Control-Allow-Origin", origin);
    headers.emplace_back("Vary", "Origin");
  }
  headers.emplace_back("Access-Control-Expose-Headers", "Location, Retry-After");
  return headers;
}

HeaderList preflight_headers(const std::vector<std::string>& methods) {
  return {{"Allow", join_methods(methods)},
          {"Access-Control-Allow-Methods", join_methods(methods)},
          {"Access-Control-Allow-Headers",
           "Content-Type, Idempotency-Key, Authorization, Last-Event-ID, Cache-Control"},
          {"Access-Control-Max-Age", "600"}};
}

ApiError no_route_error(const RouteTable& routes, const std::string& method,
                        const std::string& path) {
  const auto* methods = routes.methods_for(path);
  bool allowed =
      methods != nullptr && std::find(methods->begin(), methods->end(), method) != methods->end();
  if (methods != nullptr && !allowed) {
    return ApiError{405, "method_not_allowed",
                    method + " is not allowed on " + path + "; allowed: " + join_methods(*methods)};
  }
  return ApiError{404, "not_found", "no route for " + method + " " + path};
}

ApiError payload_too_large_error(size_t max_body_bytes) {
  return ApiError{413, "payload_too_large",
                  "the request body is larger than " + std::to_string(max_body_bytes) + " bytes"};
}

bool is_loopback_address(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

}  // namespace relay
