// AccountStore on SQLite: `<data_dir>/accounts.db`, one instance's own. One mutex serialises the
// connection.

#include <mutex>

#include "message-service/account_store.h"
#include "message-service/sqlite_statement.h"
#include "shared/auth/auth_key.h"

namespace relay {

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS users (
  name TEXT PRIMARY KEY,
  password_hash TEXT NOT NULL,
  created_ms INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS sessions (
  id TEXT PRIMARY KEY,
  user TEXT NOT NULL,
  created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL,
  ended_ms INTEGER
);
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions(user);
CREATE INDEX IF NOT EXISTS sessions_by_end ON sessions(ended_ms) WHERE ended_ms IS NOT NULL;
)sql";

template <typename T>
StoreRead<T> failed(sqlite3* db) {
  return StoreRead<T>::failed(sqlite3_errmsg(db));
}

class SqliteAccountStore : public AccountStore {
 public:
  explicit SqliteAccountStore(sqlite3* db) : db_(db) {}
  ~SqliteAccountStore() override { sqlite3_close(db_); }

  CreateOutcome create_user(const std::string& name, const std::string& password_hash,
                            int64_t now_ms, std::string* error) override;
  StoreRead<std::optional<std::string>> password_hash(const std::string& name) override;
  StoreRead<bool> remove_user(const std::string& name, int64_t now_ms) override;
  StoreRead<Session> create_session(const std::string& user, int64_t now_ms,
                                    int64_t ttl_ms) override;
  StoreRead<std::optional<Session>> live_session(const std::string& id, int64_t now_ms) override;
  StoreRead<bool> end_session(const std::string& id, int64_t now_ms) override;
  StoreRead<std::vector<std::string>> ended_since(int64_t since_ms) override;

 private:
  std::mutex mutex_;
  sqlite3* db_;  // guarded by mutex_
};

}  // namespace

std::unique_ptr<AccountStore> AccountStore::open(const std::string& data_dir, std::string* error) {
  std::string path;
  sqlite3* db = open_database(data_dir, "accounts.db", kSchema, &path, error);
  if (db == nullptr) return nullptr;
  return std::make_unique<SqliteAccountStore>(db);
}

AccountStore::CreateOutcome SqliteAccountStore::create_user(const std::string& name,
                                                            const std::string& password_hash,
                                                            int64_t now_ms, std::string* error) {
  std::lock_guard lock(mutex_);
  Statement insert(db_, "INSERT INTO users(name, password_hash, created_ms) VALUES (?, ?, ?)");
  insert.bind(1, name);
  insert.bind(2, password_hash);
  insert.bind(3, now_ms);
  int rc = insert.step();
  if (rc == SQLITE_DONE) return CreateOutcome::kCreated;
  if (rc == SQLITE_CONSTRAINT) return CreateOutcome::kTaken;
  *error = sqlite3_errmsg(db_);
  return CreateOutcome::kFailed;
}

StoreRead<std::optional<std::string>> SqliteAccountStore::password_hash(const std::string& name) {
  std::lock_guard lock(mutex_);
  Statement find(db_, "SELECT password_hash FROM users WHERE name = ?");
  find.bind(1, name);
  int rc = find.step();
  if (rc == SQLITE_ROW) return StoreRead<std::optional<std::string>>::succeeded(find.text_at(0));
  if (rc == SQLITE_DONE) return StoreRead<std::optional<std::string>>::succeeded(std::nullopt);
  return failed<std::optional<std::string>>(db_);
}

StoreRead<bool> SqliteAccountStore::remove_user(const std::string& name, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement begin(db_, "BEGIN IMMEDIATE");
  Statement remove(db_, "DELETE FROM users WHERE name = ?");
  Statement end(db_, "UPDATE sessions SET ended_ms = ? WHERE user = ? AND ended_ms IS NULL");
  Statement commit(db_, "COMMIT");
  Statement rollback(db_, "ROLLBACK");
  if (!run(begin)) return failed<bool>(db_);
  remove.bind(1, name);
  end.bind(1, now_ms);
  end.bind(2, name);
  if (!run(remove)) {
    auto result = failed<bool>(db_);
    run(rollback);
    return result;
  }
  bool existed = sqlite3_changes(db_) > 0;
  if (!run(end) || !run(commit)) {
    auto result = failed<bool>(db_);
    run(rollback);
    return result;
  }
  return StoreRead<bool>::succeeded(existed);
}

StoreRead<AccountStore::Session> SqliteAccountStore::create_session(const std::string& user,
                                                                    int64_t now_ms,
                                                                    int64_t ttl_ms) {
  Session session{random_hex(32), user, now_ms + ttl_ms};
  if (session.id.empty()) return StoreRead<Session>::failed("no random bytes for a session id");
  std::lock_guard lock(mutex_);
  Statement insert(db_,
                   "INSERT INTO sessions(id, user, created_ms, expires_ms) VALUES (?, ?, ?, ?)");
  insert.bind(1, session.id);
  insert.bind(2, user);
  insert.bind(3, now_ms);
  insert.bind(4, session.expires_ms);
  if (!run(insert)) return failed<Session>(db_);
  return StoreRead<Session>::succeeded(std::move(session));
}

StoreRead<std::optional<AccountStore::Session>> SqliteAccountStore::live_session(
    const std::string& id, int64_t now_ms) {
  using Read = StoreRead<std::optional<Session>>;
  std::lock_guard lock(mutex_);
  Statement find(db_,
                 "SELECT user, expires_ms FROM sessions WHERE id = ? AND ended_ms IS NULL AND "
                 "expires_ms > ?");
  find.bind(1, id);
  find.bind(2, now_ms);
  int rc = find.step();
  if (rc == SQLITE_ROW) return Read::succeeded(Session{id, find.text_at(0), find.int64_at(1)});
  if (rc == SQLITE_DONE) return Read::succeeded(std::nullopt);
  return failed<std::optional<Session>>(db_);
}

StoreRead<bool> SqliteAccountStore::end_session(const std::string& id, int64_t now_ms) {
  std::lock_guard lock(mutex_);
  Statement end(db_, "UPDATE sessions SET ended_ms = ? WHERE id = ? AND ended_ms IS NULL");
  end.bind(1, now_ms);
  end.bind(2, id);
  if (!run(end)) return failed<bool>(db_);
  return StoreRead<bool>::succeeded(sqlite3_changes(db_) > 0);
}

StoreRead<std::vector<std::string>> SqliteAccountStore::ended_since(int64_t since_ms) {
  std::lock_guard lock(mutex_);
  Statement find(db_, "SELECT id FROM sessions WHERE ended_ms >= ?");
  find.bind(1, since_ms);
  std::vector<std::string> ids;
  int rc;
  while ((rc = find.step()) == SQLITE_ROW) ids.push_back(find.text_at(0));
  if (rc != SQLITE_DONE) return failed<std::vector<std::string>>(db_);
  return StoreRead<std::vector<std::string>>::succeeded(std::move(ids));
}

}  // namespace relay
