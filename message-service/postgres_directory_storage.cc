// DirectoryStorage on PostgreSQL (STORE=postgres): the channels and members every instance shares.
// A change starts by locking the one row of relay_directory_version (SELECT ... FOR UPDATE): every
// writer takes it first, so changes from different instances run one after another, and a change
// reads the table as the previous one committed it. Each commit notifies
// AccountStore::kChangedChannel, so the other instances reload at once.

#include "message-service/account_store.h"
#include "message-service/directory_storage.h"
#include "message-service/pg_connection.h"

namespace relay {

namespace {

constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(8243113858869231617);
CREATE TABLE IF NOT EXISTS relay_channels (
  name text PRIMARY KEY,
  owner text NOT NULL,
  private boolean NOT NULL,
  created_ms bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS relay_channel_members (
  channel text NOT NULL REFERENCES relay_channels (name) ON DELETE CASCADE,
  username text NOT NULL,
  added_ms bigint NOT NULL,
  PRIMARY KEY (channel, username)
);
CREATE INDEX IF NOT EXISTS relay_channel_members_by_user ON relay_channel_members (username);
CREATE TABLE IF NOT EXISTS relay_directory_version (
  singleton smallint PRIMARY KEY CHECK (singleton = 1),
  version bigint NOT NULL
);
INSERT INTO relay_directory_version (singleton, version) VALUES (1, 0) ON CONFLICT DO NOTHING;
COMMIT;
)sql";

constexpr const char* kVersionSql =
    "SELECT version FROM relay_directory_version WHERE singleton = 1";

PgResult apply(PgConnection& connection, const DirectoryEdit& edit) {
  using Kind = DirectoryEdit::Kind;
  switch (edit.kind) {
    case Kind::kAddChannel:
      return connection.exec(
          "INSERT INTO relay_channels (name, owner, private, created_ms) VALUES ($1, $2, $3, $4)",
          {PgParam::text(edit.channel), PgParam::text(edit.user),
           PgParam::text(edit.is_private ? "true" : "false"), PgParam::number(edit.at_ms)});
    case Kind::kAddMember:
      return connection.exec(
          "INSERT INTO relay_channel_members (channel, username, added_ms) VALUES ($1, $2, $3)",
          {PgParam::text(edit.channel), PgParam::text(edit.user), PgParam::number(edit.at_ms)});
    case Kind::kRemoveMember:
      return connection.exec(
          "DELETE FROM relay_channel_members WHERE channel = $1 AND username = $2",
          {PgParam::text(edit.channel), PgParam::text(edit.user)});
    case Kind::kRemoveUser:
      return connection.exec("DELETE FROM relay_channel_members WHERE username = $1",
                             {PgParam::text(edit.user)});
    case Kind::kSetOwner:
      return connection.exec("UPDATE relay_channels SET owner = $2 WHERE name = $1",
                             {PgParam::text(edit.channel), PgParam::text(edit.user)});
    case Kind::kRemoveChannel:
      return connection.exec("DELETE FROM relay_channels WHERE name = $1",
                             {PgParam::text(edit.channel)});
  }
  return PgResult(nullptr, "unknown directory edit");
}

class PostgresDirectoryStorage : public DirectoryStorage {
 public:
  explicit PostgresDirectoryStorage(const std::string& url) : connection_(url) {}

  bool load(DirectoryTable* table, std::string* error) override {
    // Outside a change, one snapshot for the three reads: the version matches the rows. Inside
    // one, the lock keeps every writer out, so each read sees what the last change committed.
    bool own_snapshot = !in_change_;
    if (own_snapshot &&
        !ok(connection_.exec_repeatable("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"),
            error)) {
      return false;
    }
    PgResult version = connection_.exec(kVersionSql);
    PgResult channels =
        connection_.exec("SELECT name, owner, private, created_ms FROM relay_channels");
    PgResult members = connection_.exec(
        "SELECT channel, username FROM relay_channel_members ORDER BY channel, username");
    PgResult done = own_snapshot ? connection_.exec("COMMIT") : PgResult(nullptr, "");
    if (!ok(version, error) || !ok(channels, error) || !ok(members, error) || !ok(done, error) ||
        version.rows() != 1) {
      if (error->empty()) *error = "relay_directory_version has no row";
      connection_.reset();
      in_change_ = false;
      return false;
    }
    table->channels.clear();
    for (int row = 0; row < channels.rows(); ++row) {
      DirectoryChannel channel{channels.text(row, 0),
                               channels.text(row, 1),
                               channels.text(row, 2) == "t",
                               channels.number(row, 3),
                               {}};
      table->channels.emplace(channel.name, std::move(channel));
    }
    for (int row = 0; row < members.rows(); ++row) {
      auto found = table->channels.find(members.text(row, 0));
      if (found != table->channels.end()) found->second.members.push_back(members.text(row, 1));
    }
    table->version = version.number(0, 0);
    return true;
  }

  std::optional<int64_t> version(std::string* error) override {
    PgResult version = connection_.exec_repeatable(kVersionSql);
    if (!ok(version, error)) return std::nullopt;
    if (version.rows() != 1) {
      *error = "relay_directory_version has no row";
      return std::nullopt;
    }
    return version.number(0, 0);
  }

  bool shared() const override { return true; }

  std::optional<int64_t> begin(std::string* error) override {
    if (!ok(connection_.exec_repeatable("BEGIN"), error)) return std::nullopt;
    PgResult locked = connection_.exec(std::string(kVersionSql) + " FOR UPDATE");
    if (!ok(locked, error) || locked.rows() != 1) {
      if (error->empty()) *error = "relay_directory_version has no row";
      connection_.reset();
      return std::nullopt;
    }
    in_change_ = true;
    return locked.number(0, 0);
  }

  bool commit(const std::vector<DirectoryEdit>& edits, std::string* error) override {
    in_change_ = false;
    PgResult bumped = connection_.exec(
        "UPDATE relay_directory_version SET version = version + 1 WHERE singleton = 1");
    bool stored = ok(bumped, error);
    for (size_t i = 0; stored && i < edits.size(); ++i)
      stored = ok(apply(connection_, edits[i]), error);
    std::string notify =
        std::string("SELECT pg_notify('") + AccountStore::kChangedChannel + "', 'channels')";
    if (stored && ok(connection_.exec(notify), error) && ok(connection_.exec("COMMIT"), error)) {
      return true;
    }
    connection_.reset();  // PostgreSQL rolls the transaction back with its session
    return false;
  }

  void rollback() override {
    in_change_ = false;
    if (!connection_.exec("ROLLBACK").ok()) connection_.reset();
  }

 private:
  static bool ok(const PgResult& result, std::string* error) {
    if (result.ok()) return true;
    *error = result.error();
    return false;
  }
  PgConnection connection_;  // under the caller's lock
  bool in_change_ = false;   // between begin() and commit() or rollback()
};

}  // namespace

std::unique_ptr<DirectoryStorage> DirectoryStorage::open_postgres(const std::string& url,
                                                                  std::string* error) {
  if (!pg_prepare_schema(url, kSchema, "the channel directory in PostgreSQL", error)) {
    return nullptr;
  }
  return std::make_unique<PostgresDirectoryStorage>(url);
}

}  // namespace relay
