#include "shared/redis/redis_url.h"

#include <charconv>

namespace relay {
namespace {

bool parse_int(std::string_view text, int min, int max, int* out) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || value < min || value > max) {
    return false;
  }
  *out = value;
  return true;
}

bool has_control(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20 || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

std::string RedisUrl::display() const {
  if (!socket_path.empty()) return "unix://" + socket_path;
  std::string credentials;
  if (!user.empty() || !password.empty())
    credentials = user + (password.empty() ? "" : ":***") + "@";
  return "redis://" + credentials + host + ":" + std::to_string(port) + "/" +
         std::to_string(database);
}

std::optional<RedisUrl> parse_redis_url(const std::string& text, std::string* error) {
  RedisUrl url;
  std::string_view rest = text;
  if (has_control(rest)) {
    *error = "holds a control character";
    return std::nullopt;
  }
  if (rest.starts_with("unix://")) {
    url.socket_path = std::string(rest.substr(7));
    if (url.socket_path.empty() || url.socket_path[0] != '/') {
      *error = "a unix:// URL needs an absolute socket path";
      return std::nullopt;
    }
    return url;
  }
  if (!rest.starts_with("redis://")) {
    *error = "must start with redis:// or unix://";
    return std::nullopt;
  }
  rest.remove_prefix(8);
  if (auto slash = rest.find('/'); slash != std::string_view::npos) {
    std::string_view db = rest.substr(slash + 1);
    if (!db.empty() && !parse_int(db, 0, 1 << 20, &url.database)) {
      *error = "the database after / must be a number";
      return std::nullopt;
    }
    rest = rest.substr(0, slash);
  }
  if (auto at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view credentials = rest.substr(0, at);
    rest = rest.substr(at + 1);
    auto colon = credentials.find(':');
    if (colon == std::string_view::npos) {
      url.password = std::string(credentials);  // redis://secret@host: a password alone
    } else {
      url.user = std::string(credentials.substr(0, colon));
      url.password = std::string(credentials.substr(colon + 1));
    }
  }
  std::string_view host = rest;
  if (auto colon = rest.rfind(':');
      colon != std::string_view::npos && rest.find(']') == std::string_view::npos) {
    host = rest.substr(0, colon);
    if (!parse_int(rest.substr(colon + 1), 1, 65535, &url.port)) {
      *error = "the port must be a number from 1 to 65535";
      return std::nullopt;
    }
  }
  if (host.empty()) {
    *error = "has no host";
    return std::nullopt;
  }
  url.host = std::string(host);
  return url;
}

}  // namespace relay
