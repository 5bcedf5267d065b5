// What only the PostgreSQL engine has (the contract both engines share is in store_test.cc): bytes
// of any value in content, a server that goes away and comes back under an open store, and the
// forwarding lease among instances. Each case starts a real PostgreSQL 15.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "message-service/forwarding_lease.h"
#include "message-service/pg_connection.h"
#include "message-service/postgres_store.h"
#include "tests/support/postgres_server.h"

namespace relay {
namespace {

using testing::PostgresServer;

struct Database {
  testing::TempDir dir;
  PostgresServer server{dir.subdir("postgres")};
  Database() { REQUIRE_MESSAGE(server.start(), server.diagnostics()); }
  std::unique_ptr<MessageStore> open() {
    std::string error;
    auto store = PostgresMessageStore::open(server.url(), &error);
    REQUIRE_MESSAGE(store, error);
    return store;
  }
};

MessageDraft draft(std::string content) {
  return MessageDraft{std::move(content), "u", "general", ""};
}

}  // namespace

TEST_CASE("postgres store: content keeps every byte, NUL and invalid UTF-8 included") {
  Database db;
  auto store = db.open();
  const std::string content("a\0b\xff\xfe\\x00'\"", 10);
  auto stored = store->insert(draft(content), "");
  REQUIRE(stored.outcome == MessageStore::InsertOutcome::kCreated);
  auto read = store->get(stored.message.id);
  REQUIRE(read.ok());
  REQUIRE(read->has_value());
  CHECK((*read)->content == content);
  auto listed = store->load_after(0, 10, 1 << 20);
  REQUIRE(listed.ok());
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().content == content);
}

TEST_CASE(
    "postgres store: with the server gone every call fails with the reason and nothing is "
    "stored, and the same store works again by itself once it is back") {
  Database db;
  auto store = db.open();
  REQUIRE(store->insert(draft("before"), "key-1").outcome == MessageStore::InsertOutcome::kCreated);
  db.server.kill9();

  auto down = store->insert(draft("while down"), "key-2");
  CHECK(down.outcome == MessageStore::InsertOutcome::kFailed);
  CHECK_FALSE(down.error.empty());
  CHECK_FALSE(store->get(1).ok());
  CHECK_FALSE(store->last_id().ok());
  CHECK_FALSE(store->log(MessageFilter{}, 0, 10).ok());
  CHECK_FALSE(store->healthy());
  CHECK(store->record_receipt(1, "bob", "read").outcome == MessageStore::ReceiptOutcome::kFailed);

  REQUIRE_MESSAGE(db.server.start(), db.server.diagnostics());
  MessageStore::InsertResult back;
  for (int attempt = 0; attempt < 100; ++attempt) {  // each connection reopens on its next use
    back = store->insert(draft("while down"), "key-2");
    if (back.outcome != MessageStore::InsertOutcome::kFailed) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));  // retry interval
  }
  REQUIRE_MESSAGE(back.outcome == MessageStore::InsertOutcome::kCreated, back.error);
  CHECK(back.message.id == 2);  // the failed attempt took nothing
  bool readable = false;
  for (int attempt = 0; attempt < 100 && !readable; ++attempt) {
    readable = store->healthy();
    if (!readable) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  CHECK(readable);
  CHECK(store->last_id().ok());
  CHECK(*store->last_id() == 2);
}

TEST_CASE("postgres store: open names a database it cannot reach, without its password") {
  std::string error;
  CHECK_FALSE(PostgresMessageStore::open("postgresql://relay:s3cret@127.0.0.1:1/relay", &error));
  CHECK(error.find("127.0.0.1:1") != std::string::npos);
  CHECK(error.find("s3cret") == std::string::npos);
  CHECK(pg_url_for_display("postgresql://relay:s3cret@db:5432/relay") ==
        "postgresql://relay:***@db:5432/relay");
  CHECK(pg_url_for_display("postgresql://relay@db/relay") == "postgresql://relay@db/relay");
}

TEST_CASE(
    "forwarding lease: one of two holds it and hears every stored event, and when it stops the "
    "other takes it") {
  Database db;
  auto store = db.open();
  Logger logger("test");
  struct Instance {
    std::atomic<bool> leading{false};
    std::atomic<int> news{0};
    std::unique_ptr<ForwardingLease> lease;
  };
  Instance a;
  Instance b;
  for (Instance* instance : {&a, &b}) {
    instance->lease = std::make_unique<ForwardingLease>(
        db.server.url(), [instance](bool leading) { instance->leading = leading; },
        [instance] { ++instance->news; }, logger);
    instance->lease->start();
  }
  auto eventually = [](auto condition) {
    for (int i = 0; i < 500 && !condition(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval
    }
    return condition();
  };
  REQUIRE(eventually([&] { return a.leading || b.leading; }));
  // Both have tried at least once by now; never both.
  std::this_thread::sleep_for(std::chrono::milliseconds(ForwardingLease::kRetryMs + 200));
  CHECK(a.leading != b.leading);
  Instance& leader = a.leading ? a : b;
  Instance& standby = a.leading ? b : a;
  CHECK(leader.lease->held());
  CHECK_FALSE(standby.lease->held());

  int heard = leader.news.load();
  REQUIRE(store->insert(draft("news"), "").outcome == MessageStore::InsertOutcome::kCreated);
  CHECK(eventually([&] { return leader.news.load() > heard; }));
  CHECK(standby.news.load() == 0);

  leader.lease->stop();
  CHECK_FALSE(leader.leading);
  CHECK(eventually([&] { return standby.leading.load(); }));
  int standby_heard = standby.news.load();
  REQUIRE(store->insert(draft("more news"), "").outcome == MessageStore::InsertOutcome::kCreated);
  CHECK(eventually([&] { return standby.news.load() > standby_heard; }));
}

TEST_CASE("forwarding lease: the holder notices its server went away and stops leading") {
  Database db;
  Logger logger("test");
  std::atomic<bool> leading{false};
  ForwardingLease lease(
      db.server.url(), [&](bool now) { leading = now; }, [] {}, logger);
  lease.start();
  auto eventually = [](auto condition) {
    for (int i = 0; i < 500 && !condition(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));  // polling interval
    }
    return condition();
  };
  REQUIRE(eventually([&] { return leading.load(); }));
  db.server.kill9();
  CHECK(eventually([&] { return !leading.load(); }));
  REQUIRE_MESSAGE(db.server.start(), db.server.diagnostics());
  CHECK(eventually([&] { return leading.load(); }));
  lease.stop();
}

}  // namespace relay
