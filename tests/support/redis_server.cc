#include "tests/support/redis_server.h"

#include <cstdlib>

namespace relay::testing {

std::string redis_server_binary() {
  const char* path = std::getenv("RELAY_REDIS_SERVER_BIN");
  return path != nullptr && *path != '\0' ? path : "/usr/bin/redis-server";
}

RedisServer::RedisServer(std::string dir)
    : dir_(std::move(dir)), process_("redis-server", redis_server_binary(), {}) {}

std::string RedisServer::url() const {
  return "redis://127.0.0.1:" + std::to_string(port_);
}

std::optional<RedisReply> RedisServer::command(const std::vector<std::string>& args) {
  RedisUrl where;
  where.port = port_;
  RedisConnection connection(where, 2000);
  std::string error;
  return connection.command(args, &error);
}

bool RedisServer::start(Millis timeout) {
  bool fixed_port = port_ != 0;
  // A port found free may be taken before Redis binds it: then try another (first start only).
  for (int attempt = 0; attempt < (fixed_port ? 1 : 5); ++attempt) {
    if (!fixed_port) port_ = reserve_free_port();
    process_.set_args({"--port", std::to_string(port_), "--bind", "127.0.0.1", "--dir", dir_,
                       "--save", "", "--appendonly", "yes", "--appendfsync", "always",
                       "--daemonize", "no", "--protected-mode", "yes", "--loglevel", "warning"});
    if (!process_.spawn()) return false;
    bool up = eventually(
        [&] {
          if (!process_.running()) return true;  // exited: stop waiting
          auto pong = command({"PING"});
          return pong && pong->text == "PONG";
        },
        timeout);
    if (up && process_.running()) return true;
    process_.kill9();
  }
  return false;
}

}  // namespace relay::testing
