#pragma once

#include <signal.h>

#include <optional>
#include <string>
#include <vector>

#include "shared/redis/redis_connection.h"
#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace relay::testing {

/// A real redis-server (Debian's Redis 7; $RELAY_REDIS_SERVER_BIN overrides the path) run by a
/// test as a child process on a free 127.0.0.1 port, with its own directory, no RDB snapshots and
/// the append-only file fsynced on every write: a kill -9 of Redis loses nothing it acknowledged,
/// and a restart (same port, same directory) brings it all back. Killed when destroyed. Drive it
/// from the test's main thread.
class RedisServer {
 public:
  /// `dir` holds its append-only file.
  explicit RedisServer(std::string dir);
  RedisServer(const RedisServer&) = delete;
  RedisServer& operator=(const RedisServer&) = delete;

  /// Starts it (on a new free port the first time, the same port after) and waits until it
  /// answers PING; false (see diagnostics()) when it did not.
  bool start(Millis timeout = kPatience);
  ExitStatus kill9() { return process_.kill9(); }
  /// SIGSTOP: the kernel still accepts connections and takes commands, but nothing is answered
  /// (a Redis too slow to answer) until resume() (SIGCONT).
  void pause() { process_.send_signal(SIGSTOP); }
  void resume() { process_.send_signal(SIGCONT); }
  int port() const { return port_; }
  /// redis://127.0.0.1:<port>
  std::string url() const;
  /// Runs one command on a connection of its own; nullopt when Redis did not answer.
  std::optional<RedisReply> command(const std::vector<std::string>& args);
  std::string diagnostics() const { return process_.diagnostics(); }

 private:
  std::string dir_;
  int port_ = 0;
  ServiceProcess process_;
};

/// The redis-server binary the tests run.
std::string redis_server_binary();

}  // namespace relay::testing
