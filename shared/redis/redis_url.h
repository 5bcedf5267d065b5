#pragma once

#include <optional>
#include <string>

namespace relay {

/// Where a Redis server is: REDIS_URL parsed. `redis://[[user]:password@]host[:port][/db]`, or
/// `unix:///path/to/socket`. The password is kept for AUTH and never logged (display() hides it).
struct RedisUrl {
  std::string host = "127.0.0.1";
  int port = 6379;
  std::string socket_path;  // non-empty: a unix socket instead of host:port
  std::string user;
  std::string password;
  int database = 0;

  /// The URL without its password, for logs.
  std::string display() const;
};

/// Parses `text`; nullopt (with the reason in `*error`) when it is not a URL of that form.
std::optional<RedisUrl> parse_redis_url(const std::string& text, std::string* error);

}  // namespace relay
