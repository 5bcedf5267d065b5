#pragma once

#include <optional>
#include <string>
#include <vector>

#include "shared/redis/redis_url.h"

struct redisContext;

namespace relay {

/// One Redis reply, copied out of hiredis's reply object.
struct RedisReply {
  enum class Type { kNil, kInteger, kString, kStatus, kError, kArray };
  Type type = Type::kNil;
  long long integer = 0;
  std::string text;  // kString, kStatus, kError
  std::vector<RedisReply> elements;

  bool is_error() const { return type == Type::kError; }
};

/// A blocking connection to one Redis server over hiredis's synchronous API. It connects on first
/// use (AUTH and SELECT from the URL), and again on the next call after any I/O error or timeout,
/// so a Redis restart costs the caller one failed call. An error reply (`-ERR ...`) is a reply,
/// not a failure. Not thread-safe: one thread at a time.
class RedisConnection {
 public:
  /// `timeout_ms` bounds connecting and each read or write.
  RedisConnection(RedisUrl url, int timeout_ms);
  ~RedisConnection();
  RedisConnection(const RedisConnection&) = delete;
  RedisConnection& operator=(const RedisConnection&) = delete;

  /// Runs one command; nullopt on an I/O error, a timeout or a refused AUTH, with the reason in
  /// `*error` (the connection is dropped). `read_timeout_ms` > 0 overrides the timeout for this
  /// call (for XREAD BLOCK).
  std::optional<RedisReply> command(const std::vector<std::string>& args, std::string* error,
                                    int read_timeout_ms = 0);
  /// Runs `commands` in one round trip (pipelined, not a transaction); one reply each, in order.
  std::optional<std::vector<RedisReply>> pipeline(
      const std::vector<std::vector<std::string>>& commands, std::string* error);

  /// Drops the connection (the next call makes a new one).
  void disconnect();
  bool connected() const { return context_ != nullptr; }
  const RedisUrl& url() const { return url_; }

 private:
  bool ensure_connected(std::string* error);
  bool set_timeout(int timeout_ms);
  /// Sends what was appended and reads `count` replies.
  std::optional<std::vector<RedisReply>> read_replies(size_t count, std::string* error);

  RedisUrl url_;
  int timeout_ms_;
  redisContext* context_ = nullptr;
};

}  // namespace relay
