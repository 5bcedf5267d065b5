// message-service over HTTP when its store reads: GET /log tells the store's newest id, and a read
// that fails answers 503 store_unavailable (never 200 with an empty list).
#include <doctest/doctest.h>

#include <fmt/format.h>
#include <sqlite3.h>

#include "tests/integration/harness.h"

namespace relay::itest {
namespace {

// Runs `sql` on the service's database through a second connection, as an operator (or damage)
// would change it under the running service.
void change_database(const std::string& data_dir, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open((data_dir + "/messages.db").c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* error = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &error);
  std::string message = error ? error : "";
  sqlite3_free(error);
  sqlite3_close(db);
  REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
}

}  // namespace

TEST_CASE("store reads: GET /log carries the store's newest id, also for a cursor ahead of it") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  int64_t first = id_of(post_message(http, {{"content", "one"}, {"user", "alice"}}));
  int64_t dm = id_of(post_message(
      http, {{"content", "psst"}, {"user", "alice"}, {"to", "bob"}, {"channel", "x"}}));
  HttpResponse receipt = http.post_json("/messages/" + std::to_string(first) + "/receipts",
                                        {{"user", "bob"}, {"status", "read"}});
  REQUIRE_MESSAGE(receipt.status == 201, receipt.describe());
  std::string newest = receipt.json()["id"];
  CHECK(newest == std::to_string(dm + 1));

  HttpResponse all = http.get("/log");
  REQUIRE_MESSAGE(all.status == 200, all.describe());
  CHECK(all.json()["last_id"] == newest);   // a string, like every id the API shows
  CHECK(all.json()["events"].size() == 2);  // the message and its receipt; the DM is hidden
  // Filtered out or past the end: no events, and the newest id says where the store is.
  HttpResponse hidden = http.get("/log?channel=other");
  CHECK(hidden.json()["events"] == Json::array());
  CHECK(hidden.json()["last_id"] == newest);
  HttpResponse ahead = http.get("/log?after=1000");
  CHECK(ahead.json()["events"] == Json::array());
  CHECK(ahead.json()["last_id"] == newest);
}

TEST_CASE("store reads: a failing read answers 503 store_unavailable with Retry-After") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  int64_t id = id_of(post_message(http, {{"content", "kept"}}));
  REQUIRE(http.get("/messages").status == 200);

  change_database(relay.data_dir(), "DROP TABLE message_status; DROP TABLE messages;");
  std::string one = "/messages/";
  one.append(std::to_string(id));
  for (const std::string& path :
       std::vector<std::string>{"/messages", "/messages?after=0", "/log", "/channels", one}) {
    HttpResponse response = http.get(path);
    INFO(path << ": " << response.describe());
    CHECK(response.status == 503);
    CHECK(response.json()["error"] == "store_unavailable");
    CHECK(response.json()["detail"].is_string());
    CHECK(response.header("Retry-After") == "1");
  }
  HttpResponse post = http.post_json("/messages", {{"content", "lost"}});
  CHECK_MESSAGE(post.status == 503, post.describe());
  CHECK(http.get("/health").status == 503);
  // The service stays up and answers again once the store can be read.
  change_database(relay.data_dir(),
                  "CREATE TABLE messages (id INTEGER PRIMARY KEY AUTOINCREMENT, content TEXT NOT "
                  "NULL, user TEXT NOT NULL, channel TEXT NOT NULL, recipient TEXT, created_ms "
                  "INTEGER NOT NULL, idempotency_key TEXT UNIQUE); CREATE TABLE message_status ("
                  "message_id INTEGER NOT NULL, user TEXT NOT NULL, status INTEGER NOT NULL, "
                  "event_id INTEGER NOT NULL UNIQUE, updated_ms INTEGER NOT NULL, PRIMARY KEY "
                  "(message_id, user));");
  HttpResponse again = http.get("/messages");
  CHECK_MESSAGE(again.status == 200, again.describe());
  CHECK(again.json()["messages"] == Json::array());
}

}  // namespace relay::itest
