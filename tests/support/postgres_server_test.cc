// PostgresServer against the real PostgreSQL 15: the first start runs initdb and creates the
// database `relay`, query() answers SQL (and says nullopt on an error), and a kill -9 loses no
// committed row: the restart, on the same port and data folder, finds the table and its row.

#include "tests/support/postgres_server.h"

#include <signal.h>

#include <doctest/doctest.h>

namespace relay::testing {
namespace {

TEST_CASE("postgres server: answers SQL, and a row committed before a kill -9 is there after") {
  TempDir dir;
  PostgresServer postgres(dir.subdir("postgres"));
  REQUIRE_MESSAGE(postgres.start(), postgres.diagnostics());
  CHECK(postgres.url() ==
        "postgresql://relay@127.0.0.1:" + std::to_string(postgres.port()) + "/relay");
  CHECK_MESSAGE(postgres.query("select 1") == "1", postgres.diagnostics());
  CHECK(postgres.query("SELECT current_database() || ' ' || current_user") == "relay relay");
  CHECK(postgres.query("SHOW synchronous_commit") == "on");
  CHECK(postgres.query("SHOW fsync") == "on");
  CHECK(postgres.query("SHOW server_encoding") == "UTF8");
  CHECK_FALSE(postgres.query("SELECT * FROM no_such_table").has_value());

  REQUIRE(postgres.query("CREATE TABLE kept (id integer PRIMARY KEY, body text NOT NULL)") == "");
  REQUIRE(postgres.query("INSERT INTO kept VALUES (1, 'committed before the kill')") == "");
  CHECK(postgres.query("SELECT body FROM kept WHERE id = 2") == "");  // no row
  int port = postgres.port();
  ExitStatus killed = postgres.kill9();
  CHECK(killed.signal == SIGKILL);

  REQUIRE_MESSAGE(postgres.start(), postgres.diagnostics());
  CHECK(postgres.port() == port);
  CHECK_MESSAGE(postgres.query("SELECT body FROM kept WHERE id = 1") == "committed before the kill",
                postgres.diagnostics());

  // A fast shutdown ends it cleanly, and it starts again from the same folder.
  ExitStatus stopped = postgres.stop();
  CHECK_MESSAGE(stopped.clean(), stopped.describe());
  REQUIRE_MESSAGE(postgres.start(), postgres.diagnostics());
  CHECK(postgres.query("SELECT count(*) FROM kept") == "1");
}

}  // namespace
}  // namespace relay::testing
