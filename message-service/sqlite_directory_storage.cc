// DirectoryStorage on SQLite: `<data_dir>/channels.db` (WAL, synchronous=FULL: an answered change
// survives a crash), one instance's own.

#include "message-service/directory_storage.h"
#include "message-service/sqlite_statement.h"

namespace relay {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS channels (
  name TEXT PRIMARY KEY,
  owner TEXT NOT NULL,
  private INTEGER NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS channel_members (
  channel TEXT NOT NULL REFERENCES channels(name),
  user TEXT NOT NULL,
  added_ms INTEGER NOT NULL,
  PRIMARY KEY (channel, user)
);
CREATE TABLE IF NOT EXISTS directory_version (
  only INTEGER PRIMARY KEY CHECK (only = 1),
  version INTEGER NOT NULL
);
INSERT OR IGNORE INTO directory_version(only, version) VALUES (1, 0);
)sql";

const char* sql_of(DirectoryEdit::Kind kind) {
  switch (kind) {
    case DirectoryEdit::Kind::kAddChannel:
      return "INSERT INTO channels(name, owner, private, created_ms) VALUES (?1, ?2, ?3, ?4)";
    case DirectoryEdit::Kind::kAddMember:
      return "INSERT INTO channel_members(channel, user, added_ms) VALUES (?1, ?2, ?4)";
    case DirectoryEdit::Kind::kRemoveMember:
      return "DELETE FROM channel_members WHERE channel = ?1 AND user = ?2";
    case DirectoryEdit::Kind::kRemoveUser:
      return "DELETE FROM channel_members WHERE user = ?2";
    case DirectoryEdit::Kind::kSetOwner:
      return "UPDATE channels SET owner = ?2 WHERE name = ?1";
    case DirectoryEdit::Kind::kRemoveChannel:
      return "DELETE FROM channels WHERE name = ?1";
  }
  return "";
}

class SqliteDirectoryStorage : public DirectoryStorage {
 public:
  explicit SqliteDirectoryStorage(sqlite3* db) : db_(db) {}
  ~SqliteDirectoryStorage() override { sqlite3_close(db_); }

  bool load(DirectoryTable* table, std::string* error) override {
    Statement channels(db_, "SELECT name, owner, private, created_ms FROM channels");
    Statement members(db_, "SELECT channel, user FROM channel_members ORDER BY channel, user");
    Statement version(db_, "SELECT version FROM directory_version WHERE only = 1");
    if (!channels.ok() || !members.ok() || !version.ok()) return failed(error);
    table->channels.clear();
    int rc;
    while ((rc = channels.step()) == SQLITE_ROW) {
      DirectoryChannel channel{channels.text_at(0),
                               channels.text_at(1),
                               channels.int64_at(2) != 0,
                               channels.int64_at(3),
                               {}};
      table->channels.emplace(channel.name, std::move(channel));
    }
    if (rc != SQLITE_DONE) return failed(error);
    while ((rc = members.step()) == SQLITE_ROW) {
      auto found = table->channels.find(members.text_at(0));
      if (found != table->channels.end()) found->second.members.push_back(members.text_at(1));
    }
    if (rc != SQLITE_DONE || version.step() != SQLITE_ROW) return failed(error);
    table->version = version.int64_at(0);
    return true;
  }

  std::optional<int64_t> version(std::string* error) override {
    Statement version(db_, "SELECT version FROM directory_version WHERE only = 1");
    if (version.step() != SQLITE_ROW) {
      failed(error);
      return std::nullopt;
    }
    return version.int64_at(0);
  }

  bool shared() const override { return false; }

  std::optional<int64_t> begin(std::string* error) override {
    if (!exec(db_, "BEGIN IMMEDIATE")) {
      failed(error);
      return std::nullopt;
    }
    auto stored = version(error);
    if (!stored) exec(db_, "ROLLBACK");
    return stored;
  }

  bool commit(const std::vector<DirectoryEdit>& edits, std::string* error) override {
    Statement bump(db_, "UPDATE directory_version SET version = version + 1 WHERE only = 1");
    bool stored = run(bump);
    for (size_t i = 0; stored && i < edits.size(); ++i) stored = apply(edits[i]);
    if (stored && exec(db_, "COMMIT")) return true;
    failed(error);
    exec(db_, "ROLLBACK");
    return false;
  }

  void rollback() override { exec(db_, "ROLLBACK"); }

 private:
  bool apply(const DirectoryEdit& edit) {
    Statement statement(db_, sql_of(edit.kind));
    statement.bind(1, edit.channel);
    statement.bind(2, edit.user);
    statement.bind(3, int64_t{edit.is_private ? 1 : 0});
    statement.bind(4, edit.at_ms);
    return run(statement);
  }

  bool failed(std::string* error) const {
    *error = sqlite3_errmsg(db_);
    return false;
  }

  sqlite3* db_;
};

}  // namespace

std::unique_ptr<DirectoryStorage> DirectoryStorage::open_sqlite(const std::string& data_dir,
                                                                std::string* error) {
  std::string path;
  sqlite3* db = open_database(data_dir, "channels.db", kSchema, &path, error);
  if (db == nullptr) return nullptr;
  return std::make_unique<SqliteDirectoryStorage>(db);
}

}  // namespace relay
