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

namespace {

bool is_ascii_alnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool is_hex_digit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

char ascii_lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

}  // namespace

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (ascii_lower(a[i]) != ascii_lower(b[i])) return false;
  }
  return true;
}

bool is_http_token(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) {
    return is_ascii_alnum(c) ||
           std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
  });
}

bool is_serialized_origin(std::string_view origin) {
  std::string_view rest;
  if (origin.substr(0, 7) == "http://") {
    rest = origin.substr(7);
  } else if (origin.substr(0, 8) == "https://") {
    rest = origin.substr(8);
  } else {
    return false;
  }
  size_t host_end = 0;
  if (!rest.empty() && rest[0] == '[') {
    // An IPv6 literal: hex digits, colons and dots (an embedded IPv4) between brackets.
    host_end = rest.find(']');
    if (host_end == std::string_view::npos || host_end < 3) return false;
    for (size_t i = 1; i < host_end; ++i) {
      char c = rest[i];
      if (!is_hex_digit(c) && c != ':' && c != '.') return false;
    }
    ++host_end;
  } else {
    while (host_end < rest.size() &&
           (is_ascii_alnum(rest[host_end]) || rest[host_end] == '.' || rest[host_end] == '-')) {
      ++host_end;
    }
    if (host_end == 0) return false;
  }
  std::string_view port = rest.substr(host_end);
  if (port.empty()) return true;
  if (port[0] != ':' || port.size() < 2 || port.size() > 6) return false;
  for (char c : port.substr(1)) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

std::string host_name_of(std::string_view host_header) {
  std::string host(host_header);
  size_t colon = host.rfind(':');
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) host.resize(colon);
  if (host.empty() || host.size() > 255) return "";
  for (char c : host) {
    if (!is_ascii_alnum(c) && std::string_view(".-[]:").find(c) == std::string_view::npos)
      return "";
  }
  return host;
}

std::string url_port(std::string_view url) {
  size_t start = url.find("://");
  std::string_view authority = start == std::string_view::npos ? url : url.substr(start + 3);
  authority = authority.substr(0, authority.find('/'));
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']', colon) == std::string_view::npos) {
    std::string_view port = authority.substr(colon + 1);
    if (!port.empty() &&
        std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
      return std::string(port);
    }
  }
  return url.substr(0, 6) == "https:" ? "443" : "80";
}

ApiError payload_too_large_error(size_t max_body_bytes) {
  return ApiError{413, "payload_too_large",
                  "the request body is larger than " + std::to_string(max_body_bytes) + " bytes"};
}

bool is_json_content_type(std::string_view content_type) {
  std::string_view type = content_type.substr(0, content_type.find(';'));
  while (!type.empty() && (type.front() == ' ' || type.front() == '\t')) type.remove_prefix(1);
  while (!type.empty() && (type.back() == ' ' || type.back() == '\t')) type.remove_suffix(1);
  return equals_ignoring_case(type, "application/json");
}

std::string_view bearer_token(std::string_view authorization) {
  constexpr std::string_view kScheme = "bearer ";
  if (authorization.size() < kScheme.size() ||
      !equals_ignoring_case(authorization.substr(0, kScheme.size()), kScheme)) {
    return {};
  }
  return authorization.substr(kScheme.size());
}

bool bearer_token_matches(std::string_view authorization, std::string_view token) {
  std::string_view given = bearer_token(authorization);
  if (token.empty() || given.empty()) return false;
  // Every byte of the longer value is visited and the differences are OR-ed together, so the time
  // depends on the lengths only, not on where the first difference is.
  size_t length = std::max(given.size(), token.size());
  unsigned difference = given.size() == token.size() ? 0 : 1;
  for (size_t i = 0; i < length; ++i) {
    auto a = static_cast<unsigned char>(i < given.size() ? given[i] : 0);
    auto b = static_cast<unsigned char>(i < token.size() ? token[i] : 0);
    difference |= static_cast<unsigned>(a ^ b);
  }
  return difference == 0;
}

bool is_loopback_address(const std::string& address) {
  return address.rfind("127.", 0) == 0 || address == "::1" || address.rfind("::ffff:127.", 0) == 0;
}

}  // namespace relay
