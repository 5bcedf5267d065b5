#include "shared/redis/redis_connection.h"

#include <hiredis/hiredis.h>
#include <sys/time.h>

namespace relay {
namespace {

timeval to_timeval(int ms) {
  return timeval{.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

RedisReply copy_reply(const redisReply* reply) {
  RedisReply out;
  switch (reply->type) {
    case REDIS_REPLY_INTEGER:
      out.type = RedisReply::Type::kInteger;
      out.integer = reply->integer;
      break;
    case REDIS_REPLY_STRING:
    case REDIS_REPLY_STATUS:
    case REDIS_REPLY_ERROR:
      out.type = reply->type == REDIS_REPLY_STRING   ? RedisReply::Type::kString
                 : reply->type == REDIS_REPLY_STATUS ? RedisReply::Type::kStatus
                                                     : RedisReply::Type::kError;
      out.text.assign(reply->str, reply->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = RedisReply::Type::kArray;
      out.elements.reserve(reply->elements);
      for (size_t i = 0; i < reply->elements; ++i)
        out.elements.push_back(copy_reply(reply->element[i]));
      break;
    default:
      out.type = RedisReply::Type::kNil;
  }
  return out;
}

void append(redisContext* context, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lengths;
  argv.reserve(args.size());
  lengths.reserve(args.size());
  for (const auto& arg : args) {
    argv.push_back(arg.data());
    lengths.push_back(arg.size());
  }
  redisAppendCommandArgv(context, static_cast<int>(args.size()), argv.data(), lengths.data());
}

}  // namespace

RedisConnection::RedisConnection(RedisUrl url, int timeout_ms)
    : url_(std::move(url)), timeout_ms_(timeout_ms) {}

RedisConnection::~RedisConnection() {
  disconnect();
}

void RedisConnection::disconnect() {
  if (context_ != nullptr) redisFree(context_);
  context_ = nullptr;
}

bool RedisConnection::set_timeout(int timeout_ms) {
  return redisSetTimeout(context_, to_timeval(timeout_ms)) == REDIS_OK;
}

bool RedisConnection::ensure_connected(std::string* error) {
  if (context_ != nullptr) return true;
  timeval timeout = to_timeval(timeout_ms_);
  context_ = url_.socket_path.empty()
                 ? redisConnectWithTimeout(url_.host.c_str(), url_.port, timeout)
                 : redisConnectUnixWithTimeout(url_.socket_path.c_str(), timeout);
  if (context_ == nullptr || context_->err != 0) {
    *error = context_ == nullptr ? "cannot allocate a Redis connection"
                                 : "cannot connect to " + url_.display() + ": " + context_->errstr;
    disconnect();
    return false;
  }
  if (!set_timeout(timeout_ms_)) {
    *error = "cannot set the Redis socket timeout";
    disconnect();
    return false;
  }
  std::vector<std::vector<std::string>> setup;
  if (!url_.password.empty()) {
    setup.push_back(url_.user.empty() ? std::vector<std::string>{"AUTH", url_.password}
                                      : std::vector<std::string>{"AUTH", url_.user, url_.password});
  }
  if (url_.database != 0) setup.push_back({"SELECT", std::to_string(url_.database)});
  for (const auto& command : setup) append(context_, command);
  auto replies = read_replies(setup.size(), error);
  if (!replies) return false;
  for (const auto& reply : *replies) {
    if (reply.is_error()) {
      *error = "Redis refused the connection's setup: " + reply.text;
      disconnect();
      return false;
    }
  }
  return true;
}

std::optional<std::vector<RedisReply>> RedisConnection::read_replies(size_t count,
                                                                     std::string* error) {
  std::vector<RedisReply> replies;
  replies.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    void* raw = nullptr;
    if (redisGetReply(context_, &raw) != REDIS_OK || raw == nullptr) {
      *error = std::string("Redis connection failed: ") +
               (context_->err != 0 ? context_->errstr : "no reply");
      disconnect();
      return std::nullopt;
    }
    replies.push_back(copy_reply(static_cast<redisReply*>(raw)));
    freeReplyObject(raw);
  }
  return replies;
}

std::optional<RedisReply> RedisConnection::command(const std::vector<std::string>& args,
                                                   std::string* error, int read_timeout_ms) {
  if (!ensure_connected(error)) return std::nullopt;
  if (read_timeout_ms > 0 && !set_timeout(read_timeout_ms)) {
    *error = "cannot set the Redis socket timeout";
    disconnect();
    return std::nullopt;
  }
  append(context_, args);
  auto replies = read_replies(1, error);
  if (!replies) return std::nullopt;
  if (read_timeout_ms > 0 && !set_timeout(timeout_ms_)) {
    *error = "cannot set the Redis socket timeout";
    disconnect();
    return std::nullopt;
  }
  return std::move(replies->front());
}

std::optional<std::vector<RedisReply>> RedisConnection::pipeline(
    const std::vector<std::vector<std::string>>& commands, std::string* error) {
  if (!ensure_connected(error)) return std::nullopt;
  for (const auto& command : commands) append(context_, command);
  return read_replies(commands.size(), error);
}

}  // namespace relay
