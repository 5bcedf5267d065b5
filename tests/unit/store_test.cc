// Unit tests for message-service's store and forwarder. The store's contract is checked on both
// engines: a real SQLite file in a temp dir, and a real PostgreSQL 15 server started for the
// test case (tests/support/postgres_server.h).
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include <sqlite3.h>

#include "message-service/forwarder.h"
#include "message-service/pg_connection.h"
#include "message-service/postgres_store.h"
#include "message-service/sqlite_store.h"
#include "tests/support/postgres_server.h"

namespace relay {
namespace {

// A fresh directory under /tmp, removed when the test ends.
struct TempDir {
  std::filesystem::path path;
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "relay-store-XXXXXX").string();
    path = mkdtemp(pattern.data());
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

std::unique_ptr<MessageStore> open_store(const TempDir& dir) {
  std::string error;
  auto store = SqliteMessageStore::open(dir.path.string(), &error);
  REQUIRE_MESSAGE(store, error);
  return store;
}

MessageDraft draft(std::string content, std::string channel = "general", std::string user = "u",
                   std::string to = "") {
  return MessageDraft{std::move(content), std::move(user), std::move(channel), std::move(to)};
}

// `prefix` followed by the numbers, dash-separated: numbered("t", 3, 4) is "t3-4". Built by
// appending (GCC 12 at -O3 reports a false -Wrestrict on `"t" + std::to_string(3)`).
std::string numbered(std::string_view prefix, int64_t first, std::optional<int64_t> second = {}) {
  std::string out(prefix);
  out.append(std::to_string(first));
  if (second) out.append("-").append(std::to_string(*second));
  return out;
}

// A second connection to the store's database, as another process would have: it can hold the
// write lock (so the store's next transaction waits and the inserts behind it form one group) and
// change the schema.
class OtherConnection {
 public:
  explicit OtherConnection(const TempDir& dir) {
    REQUIRE(sqlite3_open((dir.path / "messages.db").c_str(), &db_) == SQLITE_OK);
  }
  ~OtherConnection() { sqlite3_close(db_); }
  /// The single integer `sql` selects.
  int64_t count(const std::string& sql) {
    sqlite3_stmt* statement = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &statement, nullptr) == SQLITE_OK);
    int64_t value = sqlite3_step(statement) == SQLITE_ROW ? sqlite3_column_int64(statement, 0) : -1;
    sqlite3_finalize(statement);
    return value;
  }
  void exec(const std::string& sql) {
    char* error = nullptr;
    int rc = sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &error);
    std::string message = error ? error : "";
    sqlite3_free(error);
    REQUIRE_MESSAGE(rc == SQLITE_OK, sql << ": " << message);
  }

 private:
  sqlite3* db_ = nullptr;
};

// The value of a read that must succeed.
template <typename T>
T value_of(StoreRead<T> read) {
  REQUIRE_MESSAGE(read.ok(), read.error);
  return std::move(*read);
}

template <typename Predicate>
bool eventually(Predicate predicate) {
  for (int i = 0; i < 1000; ++i) {
    if (predicate()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval
  }
  return predicate();
}

// The engines the store contract is checked on. Each is a fresh, empty store's home; open() opens
// a store on it (again after a reset, as a restart would). The rest acts on the database from
// another connection, as another process or an operator would: hold_writes() takes the write lock
// so the store's next transaction waits (the inserts queued behind it then form one group);
// refuse_content() makes the database itself refuse a row; drop_tables() breaks every read.
struct SqliteEngine {
  static constexpr const char* kNoTable = "no such table";
  TempDir dir;
  std::unique_ptr<OtherConnection> other;

  std::unique_ptr<MessageStore> open() { return open_store(dir); }
  OtherConnection& connection() {
    if (!other) other = std::make_unique<OtherConnection>(dir);
    return *other;
  }
  void hold_writes() { connection().exec("BEGIN IMMEDIATE;"); }
  void release_writes() { connection().exec("ROLLBACK;"); }
  bool stored(int64_t id) {
    return connection().count("SELECT COUNT(*) FROM messages WHERE id = " + std::to_string(id)) ==
           1;
  }
  void refuse_content(const std::string& content) {
    connection().exec(
        "CREATE TRIGGER refuse_poison BEFORE INSERT ON messages WHEN NEW.content = '" + content +
        "' BEGIN SELECT RAISE(ABORT, '" + content + " refused'); END;");
  }
  void drop_tables() {
    connection().exec("DROP TABLE message_status; DROP TABLE forward_state; DROP TABLE messages;");
  }
};

struct PostgresEngine {
  static constexpr const char* kNoTable = "does not exist";
  TempDir dir;
  testing::PostgresServer server{(dir.path / "postgres").string()};
  std::unique_ptr<PgConnection> other;

  PostgresEngine() { REQUIRE_MESSAGE(server.start(), server.diagnostics()); }
  std::unique_ptr<MessageStore> open() {
    std::string error;
    auto store = PostgresMessageStore::open(server.url(), &error);
    REQUIRE_MESSAGE(store, error);
    return store;
  }
  PgConnection& connection() {
    if (!other) other = std::make_unique<PgConnection>(server.url());
    return *other;
  }
  void exec(const std::string& sql) {
    PgResult result = connection().exec_script(sql);
    REQUIRE_MESSAGE(result.ok(), sql << ": " << result.error());
  }
  // Every writer of the store takes this row's lock first.
  void hold_writes() {
    exec("BEGIN; SELECT last_id FROM relay_sequence WHERE singleton = 1 FOR UPDATE;");
  }
  void release_writes() { exec("ROLLBACK;"); }
  bool stored(int64_t id) {
    PgResult result = connection().exec("SELECT COUNT(*) FROM relay_messages WHERE id = $1",
                                        {PgParam::number(id)});
    return result.ok() && result.number(0, 0) == 1;
  }
  void refuse_content(const std::string& content) {
    exec("ALTER TABLE relay_messages ADD CONSTRAINT \"" + content +
         " refused\" CHECK (content <> convert_to('" + content + "', 'UTF8'));");
  }
  void drop_tables() {
    exec("DROP TABLE relay_message_status, relay_forward_state, relay_messages, relay_sequence;");
  }
};

}  // namespace
}  // namespace relay

TYPE_TO_STRING_AS("sqlite", relay::SqliteEngine);
TYPE_TO_STRING_AS("postgres", relay::PostgresEngine);

namespace relay {

TEST_CASE_TEMPLATE("store assigns strictly increasing ids and reads messages back", Engine,
                   SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  auto first = store->insert(draft("one"), "");
  auto second = store->insert(draft("two", "dev", "bob", "alice"), "");
  REQUIRE(first.outcome == MessageStore::InsertOutcome::kCreated);
  REQUIRE(second.outcome == MessageStore::InsertOutcome::kCreated);
  CHECK(first.message.id == 1);
  CHECK(second.message.id == 2);
  CHECK(first.message.timestamp_ms > 0);
  auto read = value_of(store->get(2));
  REQUIRE(read);
  CHECK(read->content == "two");
  CHECK(read->channel == "dev");
  CHECK(read->user == "bob");
  CHECK(read->to == "alice");
  CHECK(read->timestamp_ms == second.message.timestamp_ms);
  CHECK_FALSE(value_of(store->get(3)));
  CHECK(value_of(store->last_id()) == 2);
  CHECK(store->healthy());
}

TEST_CASE_TEMPLATE("store idempotency keys replay the original or refuse a different message",
                   Engine, SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  auto original = store->insert(draft("hello"), "key-1");
  auto retry = store->insert(draft("hello"), "key-1");
  auto conflict = store->insert(draft("changed"), "key-1");
  CHECK(retry.outcome == MessageStore::InsertOutcome::kReplayed);
  CHECK(retry.message.id == original.message.id);
  CHECK(retry.message.timestamp_ms == original.message.timestamp_ms);
  CHECK(conflict.outcome == MessageStore::InsertOutcome::kConflict);
  CHECK(value_of(store->last_id()) == 1);
  CHECK(store->insert(draft("hello"), "key-2").message.id == 2);
}

TEST_CASE_TEMPLATE("store keeps messages and the forward cursor across reopening", Engine,
                   SqliteEngine, PostgresEngine) {
  Engine engine;
  {
    auto store = engine.open();
    for (int i = 0; i < 5; ++i) store->insert(draft(numbered("m", i)), "");
    CHECK(store->set_forwarded_upto(3));
    CHECK(store->set_forwarded_upto(2));  // never moves back: a late forwarder cannot undo
  }
  auto store = engine.open();
  CHECK(value_of(store->last_id()) == 5);
  CHECK(value_of(store->forwarded_upto()) == 3);
  CHECK(value_of(store->get(5))->content == "m4");
  CHECK(store->insert(draft("after reopen"), "").message.id == 6);
}

TEST_CASE_TEMPLATE("store history honours channels, direct-message parties, after and limit",
                   Engine, SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  store->insert(draft("a1", "a"), "");                    // 1
  store->insert(draft("b1", "b"), "");                    // 2
  store->insert(draft("dm", "a", "alice", "bob"), "");    // 3
  store->insert(draft("a2", "a"), "");                    // 4
  store->insert(draft("dm2", "b", "carol", "dave"), "");  // 5

  auto ids = [](const std::vector<Message>& messages) {
    std::vector<int64_t> out;
    for (const auto& m : messages) out.push_back(m.id);
    return out;
  };
  CHECK(ids(value_of(store->list({}, std::nullopt, 50))) == std::vector<int64_t>{1, 2, 4});
  CHECK(ids(value_of(store->list({{"a"}, "", {}}, std::nullopt, 50))) ==
        std::vector<int64_t>{1, 4});
  CHECK(ids(value_of(store->list({{"a"}, "bob", {}}, std::nullopt, 50))) ==
        std::vector<int64_t>{1, 3, 4});
  CHECK(ids(value_of(store->list({{}, "alice", {}}, std::nullopt, 50))) ==
        std::vector<int64_t>{1, 2, 3, 4});
  CHECK(ids(value_of(store->list({}, 1, 50))) == std::vector<int64_t>{2, 4});
  CHECK(ids(value_of(store->list({}, 0, 2))) == std::vector<int64_t>{1, 2});
  CHECK(ids(value_of(store->list({}, std::nullopt, 2))) == std::vector<int64_t>{2, 4});
}

TEST_CASE_TEMPLATE("store load_after bounds batches by count and bytes but returns at least one",
                   Engine, SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  for (int i = 0; i < 10; ++i) store->insert(draft(std::string(100, 'x')), "");
  CHECK(value_of(store->load_after(0, 4, 1 << 20)).size() == 4);
  CHECK(value_of(store->load_after(0, 100, 250)).size() == 3);
  CHECK(value_of(store->load_after(0, 100, 1)).size() == 1);
  CHECK(value_of(store->load_after(8, 100, 1 << 20)).size() == 2);
  CHECK(value_of(store->load_after(10, 100, 1 << 20)).empty());
}

TEST_CASE("store open reports a data directory it cannot use") {
  TempDir dir;
  auto file = dir.path / "not-a-dir";
  {
    std::FILE* f = std::fopen(file.c_str(), "w");
    std::fclose(f);
  }
  std::string error;
  CHECK_FALSE(SqliteMessageStore::open(file.string(), &error));
  CHECK(error.find("not-a-dir") != std::string::npos);
}

TEST_CASE_TEMPLATE(
    "store group commit: concurrent inserts get distinct increasing ids and all are stored", Engine,
    SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  constexpr int kThreads = 32;
  constexpr int kPerThread = 40;
  std::vector<std::vector<Message>> stored(kThreads);
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        std::string content = numbered("t", t, i);
        // Every third one keyed, so the idempotency lookup is part of the groups too.
        auto result = store->insert(draft(content), i % 3 == 0 ? "key-" + content : "");
        if (result.outcome != MessageStore::InsertOutcome::kCreated) ++failures;
        stored[t].push_back(result.message);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  CHECK(failures == 0);

  std::set<int64_t> ids;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kPerThread; ++i) {
      const Message& message = stored[t][i];
      ids.insert(message.id);
      // Each caller's inserts are committed in the order it made them.
      if (i > 0) CHECK(message.id > stored[t][i - 1].id);
      auto read = value_of(store->get(message.id));
      REQUIRE(read);
      CHECK(read->content == numbered("t", t, i));
      CHECK(read->timestamp_ms == message.timestamp_ms);
    }
  }
  constexpr int kTotal = kThreads * kPerThread;
  CHECK(ids.size() == kTotal);
  CHECK(*ids.begin() == 1);
  CHECK(*ids.rbegin() == kTotal);  // distinct and 1..N: no id skipped, none reused
  CHECK(value_of(store->last_id()) == kTotal);
  // Reading back in id order sees the same set (ids became visible in order, with no holes).
  auto all = value_of(store->load_after(0, kTotal + 1, size_t{1} << 30));
  REQUIRE(all.size() == kTotal);
  for (size_t i = 0; i < all.size(); ++i) CHECK(all[i].id == static_cast<int64_t>(i + 1));
  GroupCommitStats stats = store->insert_stats();
  CHECK(stats.groups < static_cast<uint64_t>(kTotal));  // commits were shared
  MESSAGE("commits: " << stats.groups << " for " << kTotal << " inserts");
}

namespace {

// Inserts `drafts` so that they form exactly one group: `engine` holds the write lock while a first
// insert (the blocker) waits to begin its transaction, `drafts` queue behind it one by one (so
// their order in the group is theirs), then the lock is released. Returns their results in order.
template <class Engine>
std::vector<MessageStore::InsertResult> insert_as_one_group(
    MessageStore& store, Engine& engine,
    const std::vector<std::pair<MessageDraft, std::string>>& drafts) {
  uint64_t groups_before = store.insert_stats().groups;
  engine.hold_writes();
  std::thread blocker([&] { store.insert(draft("blocker", "blocking"), ""); });
  REQUIRE(eventually([&] { return store.insert_stats().committing; }));
  std::vector<MessageStore::InsertResult> results(drafts.size());
  std::vector<std::thread> threads;
  for (size_t i = 0; i < drafts.size(); ++i) {
    threads.emplace_back([&, i] { results[i] = store.insert(drafts[i].first, drafts[i].second); });
    REQUIRE(eventually([&] { return store.insert_stats().queued == i + 1; }));
  }
  engine.release_writes();
  blocker.join();
  for (auto& thread : threads) thread.join();
  CHECK(store.insert_stats().groups == groups_before + 2);  // the blocker's, then theirs
  return results;
}

}  // namespace

TEST_CASE_TEMPLATE(
    "store group commit: idempotency keys repeated inside one group replay or conflict", Engine,
    SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  auto earlier = store->insert(draft("before"), "key-old");
  REQUIRE(earlier.outcome == MessageStore::InsertOutcome::kCreated);

  auto results = insert_as_one_group(*store, engine,
                                     {{draft("same"), "key-new"},
                                      {draft("same"), "key-new"},
                                      {draft("other body"), "key-new"},
                                      {draft("before"), "key-old"},
                                      {draft("changed"), "key-old"},
                                      {draft("no key"), ""}});
  using Outcome = MessageStore::InsertOutcome;
  CHECK(results[0].outcome == Outcome::kCreated);
  CHECK(results[1].outcome == Outcome::kReplayed);
  CHECK(results[1].message.id == results[0].message.id);
  CHECK(results[1].message.timestamp_ms == results[0].message.timestamp_ms);
  CHECK(results[2].outcome == Outcome::kConflict);
  CHECK(results[2].message.id == results[0].message.id);
  CHECK(results[3].outcome == Outcome::kReplayed);
  CHECK(results[3].message.id == earlier.message.id);
  CHECK(results[4].outcome == Outcome::kConflict);
  CHECK(results[5].outcome == Outcome::kCreated);
  CHECK(results[5].message.id == results[0].message.id + 1);
  // Stored: "before", the blocker, "same" once, "no key".
  CHECK(value_of(store->last_id()) == 4);
  CHECK(value_of(store->get(results[0].message.id))->content == "same");
}

TEST_CASE_TEMPLATE(
    "store group commit: a write that fails fails the whole group and stores none of it", Engine,
    SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  // A real failure inside the transaction: the database itself refuses one row of the group.
  engine.refuse_content("poison");
  auto results = insert_as_one_group(*store, engine,
                                     {{draft("first"), ""},
                                      {draft("keyed"), "key-1"},
                                      {draft("poison"), ""},
                                      {draft("last"), ""}});
  for (const auto& result : results) {
    CHECK(result.outcome == MessageStore::InsertOutcome::kFailed);
    CHECK(result.error.find("poison refused") != std::string::npos);
  }
  CHECK(value_of(store->last_id()) == 1);  // only the blocker, from the group before
  CHECK(value_of(store->get(1))->content == "blocker");
  CHECK(value_of(store->load_after(1, 100, 1 << 20)).empty());

  // Nothing of the failed group was claimed: its key is free, and the store goes on.
  auto retry = store->insert(draft("keyed"), "key-1");
  CHECK(retry.outcome == MessageStore::InsertOutcome::kCreated);
  CHECK(retry.message.id == 2);
  CHECK(store->insert(draft("poison"), "").outcome == MessageStore::InsertOutcome::kFailed);
  CHECK(store->insert(draft("fine"), "").message.id == 3);
}

TEST_CASE("forwarder delivers every message once, in order, through failures and restarts") {
  TempDir dir;
  auto store = open_store(dir);
  Logger logger("test");
  MetricsRegistry metrics;
  std::mutex mutex;
  std::vector<int64_t> delivered;
  std::atomic<int> failures_left{3};
  auto send = [&](const std::vector<Message>& batch, std::string* error) {
    if (failures_left.fetch_sub(1) > 0) {
      *error = "simulated outage";
      return false;
    }
    std::lock_guard lock(mutex);
    for (const auto& m : batch) delivered.push_back(m.id);
    return true;
  };
  Forwarder::Options options;
  options.batch_size = 7;
  options.retry_initial_ms = 5;
  options.retry_max_ms = 20;
  {
    Forwarder forwarder(*store, send, options, logger, metrics);
    forwarder.start();
    for (int i = 0; i < 50; ++i) {
      store->insert(draft(numbered("m", i)), "");
      forwarder.wake();
    }
    REQUIRE(eventually([&] { return forwarder.backlog() == int64_t{0}; }));
    forwarder.stop();
  }
  CHECK(value_of(store->forwarded_upto()) == 50);
  {
    std::lock_guard lock(mutex);
    REQUIRE(delivered.size() == 50);
    for (size_t i = 0; i < delivered.size(); ++i)
      CHECK(delivered[i] == static_cast<int64_t>(i + 1));
  }
  CHECK(metrics.counter("relay_forward_errors_total", "").value() == 3);

  // Messages stored while no forwarder runs are sent by the next one, and nothing acknowledged
  // before is sent again.
  for (int i = 0; i < 5; ++i) store->insert(draft("later"), "");
  Forwarder restarted(*store, send, options, logger, metrics);
  restarted.start();
  REQUIRE(eventually([&] { return restarted.backlog() == int64_t{0}; }));
  restarted.stop();
  std::lock_guard lock(mutex);
  REQUIRE(delivered.size() == 55);
  CHECK(delivered.back() == 55);
  CHECK(delivered[50] == 51);
}

TEST_CASE("forwarder takes what committed() handed over, and reads the store past every gap") {
  TempDir dir;
  auto store = open_store(dir);
  Logger logger("test");
  MetricsRegistry metrics;
  std::mutex mutex;
  std::vector<Message> delivered;
  std::atomic<int> failures_left{0};
  auto send = [&](const std::vector<Message>& batch, std::string* error) {
    if (failures_left.fetch_sub(1) > 0) {
      *error = "simulated outage";
      return false;
    }
    std::lock_guard lock(mutex);
    delivered.insert(delivered.end(), batch.begin(), batch.end());
    return true;
  };
  Forwarder::Options options;
  options.batch_size = 3;
  options.retry_initial_ms = 5;
  options.retry_max_ms = 20;
  Forwarder forwarder(*store, send, options, logger, metrics);
  // Handed over as the commit thread does, after the commit; the copy says "memory" so the test
  // sees which one was sent.
  auto handed = [](Message message) {
    message.content += " (memory)";
    return message;
  };
  // Before the forwarder starts: a, b, a receipt (an id never handed over: a gap) and c.
  Message a = store->insert(draft("a"), "").message;
  Message b = store->insert(draft("b"), "").message;
  REQUIRE(store->record_receipt(a.id, "reader", "read").outcome ==
          MessageStore::ReceiptOutcome::kChanged);
  Message c = store->insert(draft("c"), "").message;
  forwarder.committed(handed(a));
  forwarder.committed(handed(b));
  forwarder.committed(handed(c));
  forwarder.start();
  // Idle for good once the cursor is saved: only committed() or wake() starts another round.
  auto settled = [&](int64_t upto) {
    return eventually([&] { return value_of(store->forwarded_upto()) == upto; });
  };
  REQUIRE(settled(4));
  // A failed send drops what was taken from memory: the retry reads the store. The copy is
  // handed over before d is stored (a round still running from before could otherwise read d from
  // the store first and fail on that, and then the copy would go out); wake() then covers a retry
  // that read the store before d was in it.
  failures_left = 1;
  Message early = a;
  early.id = 5;
  early.content = "d";
  forwarder.committed(handed(early));
  Message d = store->insert(draft("d"), "").message;
  REQUIRE(d.id == 5);
  forwarder.wake();
  REQUIRE(settled(5));
  // An id at or below the cursor is dropped, never sent twice.
  Message stale = handed(b);
  forwarder.committed(stale);
  Message e = store->insert(draft("e"), "").message;
  forwarder.committed(handed(e));
  REQUIRE(settled(6));
  forwarder.stop();

  std::lock_guard lock(mutex);
  std::vector<int64_t> ids;
  for (const Message& m : delivered) ids.push_back(m.id);
  CHECK(ids == std::vector<int64_t>{1, 2, 3, 4, 5, 6});
  REQUIRE(delivered.size() == 6);
  CHECK(delivered[0].content == "a (memory)");
  CHECK(delivered[1].content == "b (memory)");
  CHECK(delivered[2].kind == EventKind::kReceipt);  // from the store
  CHECK(delivered[3].content == "c");               // read with the receipt, past the gap
  CHECK(delivered[4].content == "d");               // the failed memory batch, re-read
  // e may come either way: the stale hand-over wakes the forwarder, and a round that reads the
  // store after e's insert finds it there before committed(e) is called. Once, in order, is what
  // holds.
  CHECK((delivered[5].content == "e" || delivered[5].content == "e (memory)"));
}

TEST_CASE_TEMPLATE("store: receipts move forward only and take ids from the message sequence",
                   Engine, SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  auto message = store->insert(draft("hello", "general", "alice"), "").message;
  auto dm = store->insert(draft("psst", "general", "alice", "bob"), "").message;

  auto delivered = store->record_receipt(message.id, "bob", "delivered");
  REQUIRE(delivered.outcome == MessageStore::ReceiptOutcome::kChanged);
  CHECK(delivered.event.id == dm.id + 1);
  CHECK(delivered.event.kind == EventKind::kReceipt);
  CHECK(delivered.event.to.empty());
  CHECK(store->record_receipt(message.id, "bob", "delivered").outcome ==
        MessageStore::ReceiptOutcome::kUnchanged);
  auto read = store->record_receipt(message.id, "bob", "read");
  REQUIRE(read.outcome == MessageStore::ReceiptOutcome::kChanged);
  auto back = store->record_receipt(message.id, "bob", "delivered");
  CHECK(back.outcome == MessageStore::ReceiptOutcome::kUnchanged);
  CHECK(back.event.status == "read");
  CHECK(back.event.id == read.event.id);
  CHECK(store->record_receipt(message.id, "alice", "read").outcome ==
        MessageStore::ReceiptOutcome::kOwnMessage);
  CHECK(store->record_receipt(dm.id, "carol", "read").outcome ==
        MessageStore::ReceiptOutcome::kNotFound);
  CHECK(store->record_receipt(dm.id + 100, "bob", "read").outcome ==
        MessageStore::ReceiptOutcome::kNotFound);
  auto dm_read = store->record_receipt(dm.id, "bob", "read");
  REQUIRE(dm_read.outcome == MessageStore::ReceiptOutcome::kChanged);
  CHECK(dm_read.event.to == "alice");  // the DM's other party, so both see it

  // The next message comes after every receipt; last_id() counts receipts too.
  auto next = store->insert(draft("next", "general", "alice"), "").message;
  CHECK(next.id == dm_read.event.id + 1);
  CHECK(value_of(store->last_id()) == next.id);

  auto ids_of = [](const std::vector<Message>& events) {
    std::vector<int64_t> ids;
    for (const auto& event : events) ids.push_back(event.id);
    return ids;
  };
  // The log holds the latest receipt per reader, in one id order with the messages.
  CHECK(ids_of(value_of(store->load_after(0, 100, 1 << 20))) ==
        std::vector<int64_t>{message.id, dm.id, read.event.id, dm_read.event.id, next.id});
  // carol sees no DM and no DM receipt; alice's DMs show whatever channels she follows.
  CHECK(ids_of(value_of(store->log(MessageFilter{{}, "carol", {}}, 0, 100)).events) ==
        std::vector<int64_t>{message.id, read.event.id, next.id});
  CHECK(ids_of(value_of(store->log(MessageFilter{{"other"}, "alice", {}}, 0, 100)).events) ==
        std::vector<int64_t>{dm.id, dm_read.event.id});
  // Pages: a limit smaller than either part still returns the first ones in id order.
  CHECK(ids_of(value_of(store->log(MessageFilter{}, message.id, 2)).events) ==
        std::vector<int64_t>{read.event.id, next.id});
  CHECK(ids_of(value_of(store->log(MessageFilter{{}, "bob", {}}, message.id, 2)).events) ==
        std::vector<int64_t>{dm.id, read.event.id});

  auto receipts = value_of(store->receipts_for({message.id, dm.id, next.id}));
  CHECK(receipts.size() == 2);
  REQUIRE(receipts[message.id].size() == 1);
  CHECK(receipts[message.id][0].user == "bob");
  CHECK(receipts[message.id][0].status == "read");

  // Durable, and the sequence continues after a reopen.
  store.reset();
  store = engine.open();
  CHECK(value_of(store->receipts_for({message.id}))[message.id].at(0).status == "read");
  auto after_reopen = store->record_receipt(next.id, "bob", "delivered");
  CHECK(after_reopen.event.id == next.id + 1);
}

TEST_CASE_TEMPLATE(
    "store insert_async answers on the commit thread, in queue order, after the commit", Engine,
    SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  constexpr int kInserts = 300;
  std::mutex mutex;
  std::condition_variable all_done;
  std::vector<MessageStore::InsertResult> results;  // guarded by mutex, in callback order
  std::vector<int> order;                           // guarded by mutex: which insert answered
  std::set<std::thread::id> threads;                // guarded by mutex
  std::vector<int64_t> committed_at_callback;       // guarded by mutex
  for (int i = 0; i < kInserts; ++i) {
    store->insert_async(draft(numbered("m", i)), i % 2 ? numbered("key-", i) : "",
                        [&, i](MessageStore::InsertResult result) {
                          // Committed before the answer: another connection already sees it.
                          int64_t visible = engine.stored(result.message.id) ? 1 : 0;
                          std::lock_guard lock(mutex);
                          results.push_back(std::move(result));
                          order.push_back(i);
                          threads.insert(std::this_thread::get_id());
                          committed_at_callback.push_back(visible);
                          if (results.size() == kInserts) all_done.notify_one();
                        });
  }
  std::unique_lock lock(mutex);
  REQUIRE(all_done.wait_for(lock, std::chrono::seconds(30),
                            [&] { return results.size() == kInserts; }));
  CHECK(threads.size() == 1);
  CHECK(threads.count(std::this_thread::get_id()) == 0);
  for (int i = 0; i < kInserts; ++i) {
    CHECK(order[i] == i);
    CHECK(results[i].outcome == MessageStore::InsertOutcome::kCreated);
    CHECK(results[i].message.id == i + 1);
    CHECK(results[i].message.content == numbered("m", i));
    CHECK(committed_at_callback[i] == 1);
  }
  MESSAGE("groups: " << store->insert_stats().groups << " for " << kInserts << " inserts");
}

TEST_CASE_TEMPLATE(
    "store stop commits and answers everything queued, and later inserts answer kFailed", Engine,
    SqliteEngine, PostgresEngine) {
  Engine engine;
  constexpr int kInserts = 2000;
  std::atomic<int> created{0};
  std::atomic<int> answered{0};
  auto store = engine.open();
  for (int i = 0; i < kInserts; ++i) {
    store->insert_async(draft(numbered("m", i)), "", [&](MessageStore::InsertResult r) {
      if (r.outcome == MessageStore::InsertOutcome::kCreated) ++created;
      ++answered;
    });
  }
  store->stop();  // returns with every callback run
  CHECK(answered == kInserts);
  CHECK(created == kInserts);
  bool inline_answer = false;
  store->insert_async(draft("late"), "", [&](MessageStore::InsertResult r) {
    inline_answer = r.outcome == MessageStore::InsertOutcome::kFailed && r.error == "store closing";
  });
  CHECK(inline_answer);  // answered before insert_async returned, on this thread
  CHECK(store->insert(draft("late"), "").outcome == MessageStore::InsertOutcome::kFailed);
  store.reset();
  store = engine.open();
  CHECK(value_of(store->last_id()) == kInserts);
}

TEST_CASE_TEMPLATE(
    "store insert() inside a done callback answers kFailed instead of waiting for itself", Engine,
    SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  std::promise<MessageStore::InsertResult> nested;
  store->insert_async(draft("outer"), "", [&](MessageStore::InsertResult) {
    nested.set_value(store->insert(draft("inner"), ""));
  });
  auto answer = nested.get_future();
  REQUIRE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto result = answer.get();
  CHECK(result.outcome == MessageStore::InsertOutcome::kFailed);
  CHECK(result.error.find("commit thread") != std::string::npos);
  CHECK(value_of(store->last_id()) == 1);
}

TEST_CASE_TEMPLATE("store log returns the newest id, read with the page", Engine, SqliteEngine,
                   PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  auto empty = value_of(store->log(MessageFilter{}, 0, 10));
  CHECK(empty.events.empty());
  CHECK(empty.last_id == 0);
  auto first = store->insert(draft("public", "a", "alice"), "").message;
  auto dm = store->insert(draft("secret", "a", "alice", "bob"), "").message;
  auto receipt = store->record_receipt(first.id, "bob", "read").event;
  // carol sees only the first message, but the newest id is the store's (the receipt's).
  auto page = value_of(store->log(MessageFilter{{}, "carol", {}}, 0, 10));
  REQUIRE(page.events.size() == 2);  // the message and bob's receipt of it
  CHECK(page.last_id == receipt.id);
  CHECK(receipt.id == dm.id + 1);
  // A cursor beyond the newest id: nothing, and last_id says the cursor is ahead.
  auto ahead = value_of(store->log(MessageFilter{}, 1000, 10));
  CHECK(ahead.events.empty());
  CHECK(ahead.last_id == receipt.id);
  // A page shorter than the log still tells the whole log's newest id.
  auto short_page = value_of(store->log(MessageFilter{}, 0, 1));
  CHECK(short_page.events.size() == 1);
  CHECK(short_page.last_id == receipt.id);
}

TEST_CASE_TEMPLATE(
    "store reads that fail report failure, never an empty result, and inserts answer kFailed",
    Engine, SqliteEngine, PostgresEngine) {
  Engine engine;
  auto store = engine.open();
  auto message = store->insert(draft("hello", "general", "alice"), "key-1").message;
  REQUIRE(store->record_receipt(message.id, "bob", "read").outcome ==
          MessageStore::ReceiptOutcome::kChanged);
  REQUIRE(store->healthy());
  // Another connection breaks the database under the store, as a damaged file or an operator
  // would: every table the reads use is gone.
  engine.drop_tables();

  auto failed = [&](const auto& read) {
    CHECK_FALSE(read.ok());
    CHECK_MESSAGE(read.error.find(Engine::kNoTable) != std::string::npos, read.error);
  };
  failed(store->get(message.id));
  failed(store->list({}, std::nullopt, 50));
  failed(store->list({}, 0, 50));
  failed(store->list({{}, "alice", {}}, std::nullopt, 50, "bob"));
  failed(store->receipts_for({message.id}));
  failed(store->channels());
  failed(store->load_after(0, 100, 1 << 20));
  failed(store->log(MessageFilter{}, 0, 100));
  failed(store->log(MessageFilter{{"general"}, "bob", {}}, 0, 100));
  failed(store->last_id());
  failed(store->forwarded_upto());
  CHECK_FALSE(store->healthy());
  CHECK_FALSE(store->set_forwarded_upto(1));
  CHECK(store->record_receipt(message.id, "carol", "read").outcome ==
        MessageStore::ReceiptOutcome::kFailed);

  std::promise<MessageStore::InsertResult> answered;
  store->insert_async(draft("lost"), "key-2",
                      [&](MessageStore::InsertResult result) { answered.set_value(result); });
  auto answer = answered.get_future();
  REQUIRE(answer.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  auto result = answer.get();
  CHECK(result.outcome == MessageStore::InsertOutcome::kFailed);
  CHECK(result.error.find(Engine::kNoTable) != std::string::npos);
  CHECK(store->insert(draft("lost too"), "").outcome == MessageStore::InsertOutcome::kFailed);
}

TEST_CASE("forwarder treats a failed read as retry later and forwards once the store reads again") {
  TempDir dir;
  auto store = open_store(dir);
  Logger logger("test");
  MetricsRegistry metrics;
  std::mutex mutex;
  std::vector<int64_t> delivered;
  auto send = [&](const std::vector<Message>& batch, std::string*) {
    std::lock_guard lock(mutex);
    for (const auto& m : batch) delivered.push_back(m.id);
    return true;
  };
  for (int i = 0; i < 3; ++i) store->insert(draft(numbered("m", i)), "");
  OtherConnection other(dir);
  // The messages table moves away and back: while it is away every read fails.
  other.exec("ALTER TABLE messages RENAME TO messages_away;");
  Forwarder::Options options;
  options.retry_initial_ms = 5;
  options.retry_max_ms = 20;
  Forwarder forwarder(*store, send, options, logger, metrics);
  forwarder.start();
  REQUIRE_FALSE(store->load_after(0, 10, 1 << 20).ok());
  CHECK_FALSE(forwarder.backlog().has_value());
  other.exec("ALTER TABLE messages_away RENAME TO messages;");
  REQUIRE(eventually([&] { return forwarder.backlog() == int64_t{0}; }));
  forwarder.stop();
  std::lock_guard lock(mutex);
  CHECK(delivered == std::vector<int64_t>{1, 2, 3});
}

}  // namespace relay
