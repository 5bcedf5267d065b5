// AccountStore on PostgreSQL (STORE=postgres): tables relay_users and relay_sessions in the shared
// database, so that a user registered through one message-service instance signs in through any
// other, and a logout through one ends the session for all. Reads and writes each borrow a pooled
// connection; a change that ends sessions notifies AccountStore::kChangedChannel inside its
// transaction, so the notification arrives exactly when the change is visible.

#include "message-service/account_store.h"
#include "message-service/pg_connection.h"
#include "shared/auth/auth_key.h"

namespace relay {

namespace {

// Created under the schema's advisory lock ("relay" 1, as the message tables are), so that
// instances starting together do not race on CREATE.
constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(8243113858869231617);
CREATE TABLE IF NOT EXISTS relay_users (
  name text PRIMARY KEY,
  password_hash text NOT NULL,
  created_ms bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_sessions (
  id text PRIMARY KEY,
  username text NOT NULL,
  created_ms bigint NOT NULL,
  expires_ms bigint NOT NULL,
  ended_ms bigint
);
CREATE INDEX IF NOT EXISTS relay_sessions_by_user ON relay_sessions (username);
CREATE INDEX IF NOT EXISTS relay_sessions_by_end ON relay_sessions (ended_ms)
  WHERE ended_ms IS NOT NULL;
COMMIT;
)sql";

constexpr size_t kConnections = 4;
constexpr const char* kUniqueViolation = "23505";

// The call that tells the other instances sessions ended (part of the changing statement).
std::string notify_call() {
  return std::string("pg_notify('") + AccountStore::kChangedChannel + "', 'sessions')";
}

class PostgresAccountStore : public AccountStore {
 public:
  explicit PostgresAccountStore(const std::string& url) : pool_(url, kConnections) {}

  CreateOutcome create_user(const std::string& name, const std::string& password_hash,
                            int64_t now_ms, std::string* error) override {
    auto connection = pool_.take();
    PgResult inserted = connection->exec(
        "INSERT INTO relay_users (name, password_hash, created_ms) VALUES ($1, $2, $3)",
        {PgParam::text(name), PgParam::text(password_hash), PgParam::number(now_ms)});
    if (inserted.ok()) return CreateOutcome::kCreated;
    if (inserted.sqlstate() == kUniqueViolation) return CreateOutcome::kTaken;
    *error = inserted.error();
    return CreateOutcome::kFailed;
  }

  StoreRead<std::optional<std::string>> password_hash(const std::string& name) override {
    using Read = StoreRead<std::optional<std::string>>;
    auto connection = pool_.take();
    PgResult found = connection->exec_repeatable(
        "SELECT password_hash FROM relay_users WHERE name = $1", {PgParam::text(name)});
    if (!found.ok()) return Read::failed(found.error());
    if (found.rows() == 0) return Read::succeeded(std::nullopt);
    return Read::succeeded(found.text(0, 0));
  }

  StoreRead<bool> remove_user(const std::string& name, int64_t now_ms) override {
    auto connection = pool_.take();
    // One statement, so one transaction: the user goes, their sessions end, the others hear.
    PgResult removed = connection->exec(
        "WITH gone AS (DELETE FROM relay_users WHERE name = $1 RETURNING name), "
        "ended AS (UPDATE relay_sessions SET ended_ms = $2 WHERE username = $1 AND ended_ms IS "
        "NULL RETURNING id) "
        "SELECT (SELECT count(*) FROM gone), (SELECT count(*) FROM ended), " +
            notify_call(),
        {PgParam::text(name), PgParam::number(now_ms)});
    if (!removed.ok()) return StoreRead<bool>::failed(removed.error());
    return StoreRead<bool>::succeeded(removed.number(0, 0) > 0);
  }

  StoreRead<Session> create_session(const std::string& user, int64_t now_ms,
                                    int64_t ttl_ms) override {
    Session session{random_hex(32), user, now_ms + ttl_ms};
    if (session.id.empty()) return StoreRead<Session>::failed("no random bytes for a session id");
    auto connection = pool_.take();
    PgResult inserted = connection->exec(
        "INSERT INTO relay_sessions (id, username, created_ms, expires_ms) VALUES ($1, $2, $3, $4)",
        {PgParam::text(session.id), PgParam::text(user), PgParam::number(now_ms),
         PgParam::number(session.expires_ms)});
    if (!inserted.ok()) return StoreRead<Session>::failed(inserted.error());
    return StoreRead<Session>::succeeded(std::move(session));
  }

  StoreRead<std::optional<Session>> live_session(const std::string& id, int64_t now_ms) override {
    using Read = StoreRead<std::optional<Session>>;
    auto connection = pool_.take();
    PgResult found = connection->exec_repeatable(
        "SELECT username, expires_ms FROM relay_sessions WHERE id = $1 AND ended_ms IS NULL AND "
        "expires_ms > $2",
        {PgParam::text(id), PgParam::number(now_ms)});
    if (!found.ok()) return Read::failed(found.error());
    if (found.rows() == 0) return Read::succeeded(std::nullopt);
    return Read::succeeded(Session{id, found.text(0, 0), found.number(0, 1)});
  }

  StoreRead<bool> end_session(const std::string& id, int64_t now_ms) override {
    auto connection = pool_.take();
    PgResult ended = connection->exec(
        "WITH ended AS (UPDATE relay_sessions SET ended_ms = $2 WHERE id = $1 AND ended_ms IS "
        "NULL RETURNING id) SELECT (SELECT count(*) FROM ended), " +
            notify_call(),
        {PgParam::text(id), PgParam::number(now_ms)});
    if (!ended.ok()) return StoreRead<bool>::failed(ended.error());
    return StoreRead<bool>::succeeded(ended.number(0, 0) > 0);
  }

  StoreRead<std::vector<std::string>> ended_since(int64_t since_ms) override {
    using Read = StoreRead<std::vector<std::string>>;
    auto connection = pool_.take();
    PgResult found = connection->exec_repeatable(
        "SELECT id FROM relay_sessions WHERE ended_ms >= $1", {PgParam::number(since_ms)});
    if (!found.ok()) return Read::failed(found.error());
    std::vector<std::string> ids;
    ids.reserve(static_cast<size_t>(found.rows()));
    for (int row = 0; row < found.rows(); ++row) ids.push_back(found.text(row, 0));
    return Read::succeeded(std::move(ids));
  }

 private:
  PgPool pool_;
};

}  // namespace

std::unique_ptr<AccountStore> AccountStore::open_postgres(const std::string& url,
                                                          std::string* error) {
  if (!pg_prepare_schema(url, kSchema, "the accounts in PostgreSQL", error)) return nullptr;
  return std::make_unique<PostgresAccountStore>(url);
}

}  // namespace relay
