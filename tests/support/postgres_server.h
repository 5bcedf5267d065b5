#pragma once

#include <optional>
#include <string>

#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace relay::testing {

/// A real PostgreSQL 15 server (Debian's; $RELAY_POSTGRES_BIN_DIR overrides
/// /usr/lib/postgresql/15/bin) run by a test as a child process on a free 127.0.0.1 port, with its
/// own data folder (initdb on the first start: trust authentication, UTF8, superuser `relay`, a
/// database `relay`) and fsync and synchronous commit on: a kill -9 of the server loses no commit
/// it acknowledged, and a restart (same port, same folder) brings it all back.
///
/// PostgreSQL refuses to run as root: when the test runs as root, initdb and postgres run as
/// `nobody` through setpriv, the data folder is chowned to it, and the directories above `dir`
/// that others cannot search get o+x (search only, not listing) so that `nobody` can reach it.
///
/// Stopped (fast shutdown) when destroyed, not killed: the server's own children outlive a kill -9
/// of it until they notice (a busy one until its statement ends). Drive it from the test's main
/// thread.
class PostgresServer {
 public:
  /// `dir` holds the data folder (`data`) and the Unix socket's folder (`socket`).
  explicit PostgresServer(std::string dir);
  ~PostgresServer();
  PostgresServer(const PostgresServer&) = delete;
  PostgresServer& operator=(const PostgresServer&) = delete;

  /// Starts it (initdb first when the data folder is empty; on a new free port the first time,
  /// the same port after) and waits until it accepts connections and the database `relay` exists;
  /// false (see diagnostics()) when it did not.
  bool start(Millis timeout = kPatience);
  /// Fast shutdown (SIGINT: clients are disconnected, a checkpoint written), then waits.
  ExitStatus stop() { return process_.stop(); }
  ExitStatus kill9() { return process_.kill9(); }
  int port() const { return port_; }
  /// postgresql://relay@127.0.0.1:<port>/relay
  std::string url() const;
  /// Runs one SQL statement on a connection of its own to the database `relay`: the first column
  /// of the first row as text, "" when the statement returns no rows (or none at all), nullopt on
  /// an error (diagnostics() then says which).
  std::optional<std::string> query(const std::string& sql);
  /// initdb's run (when this object ran it and it failed), the server's, and the last error met.
  std::string diagnostics() const;

 private:
  bool prepare_folders();
  bool initialize(Millis timeout);
  bool ensure_database();

  std::string dir_;
  int port_ = 0;
  std::string last_error_;
  ServiceProcess initdb_;
  ServiceProcess process_;
};

/// The folder of the PostgreSQL binaries (initdb, postgres) the tests run.
std::string postgres_bin_dir();

}  // namespace relay::testing
