#include "shared/http_rules.h"

#include <algorithm>

namespace relay {

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

ApiError payload_too_large_error(size_t max_body_bytes) {
  return ApiError{413, "payload_too_large",
                  "the request body is larger than " + std::to_string(max_body_bytes) + " bytes"};
}

bool is_loopback_address(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

}  // namespace relay
