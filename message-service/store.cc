#include "message-service/store.h"

#include <algorithm>
#include <filesystem>

#include <sqlite3.h>

#include "shared/time_format.h"

namespace relay {

namespace {

// Owns one prepared statement; binds by 1-based index.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  /// Makes the statement ready to run again; bindings are replaced by the next bind() calls.
  void reset() { sqlite3_reset(stmt_); }
  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  void bind(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }
  void bind_null(int index) { sqlite3_bind_null(stmt_, index); }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(stmt_); }
  int64_t int64_at(int column) { return sqlite3_column_int64(stmt_, column); }
  std::string text_at(int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return text == nullptr ? std::string() : std::string(text, sqlite3_column_bytes(stmt_, column));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

constexpr const char* kMessageColumns = "id, content, user, channel, recipient, created_ms";

// The most inserts one transaction takes: bounds the transaction's size (and the wait of the last
// caller in it); callers beyond it form the next group. Each HTTP connection has at most one
// insert in flight, so groups are rarely this large.
constexpr size_t kMaxInsertGroup = 256;

Message read_message(Statement& statement) {
  Message message;
  message.id = statement.int64_at(0);
  message.content = statement.text_at(1);
  message.user = statement.text_at(2);
  message.channel = statement.text_at(3);
  message.to = statement.text_at(4);
  message.timestamp_ms = statement.int64_at(5);
  return message;
}

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS messages (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  content TEXT NOT NULL,
  user TEXT NOT NULL,
  channel TEXT NOT NULL,
  recipient TEXT,
  created_ms INTEGER NOT NULL,
  idempotency_key TEXT UNIQUE
);
CREATE INDEX IF NOT EXISTS messages_by_channel ON messages(channel, id) WHERE recipient IS NULL;
CREATE INDEX IF NOT EXISTS messages_by_recipient ON messages(recipient, id)
  WHERE recipient IS NOT NULL;
CREATE INDEX IF NOT EXISTS messages_by_sender ON messages(user, id) WHERE recipient IS NOT NULL;
CREATE TABLE IF NOT EXISTS forward_state (
  singleton INTEGER PRIMARY KEY CHECK (singleton = 1),
  forwarded_upto INTEGER NOT NULL
);
INSERT OR IGNORE INTO forward_state (singleton, forwarded_upto) VALUES (1, 0);
PRAGMA user_version = 1;
)sql";

}  // namespace

std::unique_ptr<MessageStore> MessageStore::open(const std::string& data_dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(data_dir, ec);
  if (ec) {
    *error = "cannot create data directory " + data_dir + ": " + ec.message();
    return nullptr;
  }
  std::string path = (std::filesystem::path(data_dir) / "messages.db").string();
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr) !=
      SQLITE_OK) {
    *error = "cannot open " + path + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    return nullptr;
  }
  sqlite3_busy_timeout(db, 5000);
  // WAL + synchronous=FULL: every commit is fsynced before it returns, so a 201 survives a crash
  // of the process and of the machine.
  if (!exec(db, "PRAGMA journal_mode=WAL;") || !exec(db, "PRAGMA synchronous=FULL;") ||
      !exec(db, kSchema)) {
    *error = "cannot initialise " + path + ": " + sqlite3_errmsg(db);
    sqlite3_close(db);
    return nullptr;
  }
  return std::unique_ptr<MessageStore>(new MessageStore(db));
}

MessageStore::MessageStore(sqlite3* db)
    : db_(db),
      group_commit_([this](const std::vector<PendingInsert*>& group) { write_group(group); },
                    kMaxInsertGroup) {}

MessageStore::~MessageStore() {
  sqlite3_close(db_);
}

MessageStore::InsertResult MessageStore::insert(const MessageDraft& draft,
                                                const std::string& idempotency_key) {
  PendingInsert pending{draft, idempotency_key, {}};
  group_commit_.run(pending);
  return std::move(pending.result);
}

void MessageStore::write_group(const std::vector<PendingInsert*>& group) {
  std::lock_guard lock(mutex_);
  std::string error;
  if (try_write_group(group, &error)) return;
  exec(db_, "ROLLBACK;");
  for (PendingInsert* pending : group)
    pending->result = InsertResult{InsertOutcome::kFailed, {}, error};
}

// Every step of the group in one transaction: a replay or conflict is decided against what is
// committed and what earlier items of this group wrote (the transaction sees its own rows).
// False at the first failure, with SQLite's reason in `*error` and the transaction still open.
bool MessageStore::try_write_group(const std::vector<PendingInsert*>& group, std::string* error) {
  // Taken at once: finalising or resetting a statement, and ROLLBACK, replace the message.
  auto fail = [&] {
    *error = sqlite3_errmsg(db_);
    return false;
  };
  if (!exec(db_, "BEGIN IMMEDIATE;")) return fail();
  Statement find(
      db_, std::string("SELECT ") + kMessageColumns + " FROM messages WHERE idempotency_key = ?");
  Statement add(db_,
                "INSERT INTO messages (content, user, channel, recipient, created_ms, "
                "idempotency_key) VALUES (?, ?, ?, ?, ?, ?)");
  if (!find.ok() || !add.ok()) return fail();
  for (PendingInsert* pending : group) {
    const MessageDraft& draft = pending->draft;
    const std::string& key = pending->idempotency_key;
    InsertResult& result = pending->result;
    if (!key.empty()) {
      find.reset();
      find.bind(1, key);
      int found = find.step();
      if (found == SQLITE_ROW) {
        result.message = read_message(find);
        MessageDraft original{result.message.content, result.message.user, result.message.channel,
                              result.message.to};
        result.outcome = original == draft ? InsertOutcome::kReplayed : InsertOutcome::kConflict;
        continue;
      }
      if (found != SQLITE_DONE) return fail();
    }
    int64_t now = now_unix_ms();
    add.reset();
    add.bind(1, draft.content);
    add.bind(2, draft.user);
    add.bind(3, draft.channel);
    if (draft.to.empty()) {
      add.bind_null(4);
    } else {
      add.bind(4, draft.to);
    }
    add.bind(5, now);
    if (key.empty()) {
      add.bind_null(6);
    } else {
      add.bind(6, key);
    }
    if (add.step() != SQLITE_DONE) return fail();
    result.outcome = InsertOutcome::kCreated;
    result.message = Message{
        sqlite3_last_insert_rowid(db_), draft.content, draft.user, draft.channel, draft.to, now};
  }
  find.reset();  // no statement may be left mid-read at COMMIT
  add.reset();
  return exec(db_, "COMMIT;") || fail();
}

std::optional<Message> MessageStore::get(int64_t id) {
  std::lock_guard lock(mutex_);
  Statement find(db_, std::string("SELECT ") + kMessageColumns + " FROM messages WHERE id = ?");
  find.bind(1, id);
  if (find.ok() && find.step() == SQLITE_ROW) return read_message(find);
  return std::nullopt;
}

std::vector<Message> MessageStore::list(const MessageFilter& filter, std::optional<int64_t> after,
                                        int limit) {
  std::string visible = "(recipient IS NULL";
  if (!filter.channels.empty()) {
    visible += " AND channel IN (";
    for (size_t i = 0; i < filter.channels.size(); ++i) visible += i == 0 ? "?" : ", ?";
    visible += ")";
  }
  visible += ")";
  if (!filter.user.empty()) {
    visible += " OR (recipient IS NOT NULL AND (recipient = ? OR user = ?))";
  }
  std::string sql = std::string("SELECT ") + kMessageColumns + " FROM messages WHERE (" + visible +
                    ")" + (after ? " AND id > ? ORDER BY id ASC" : " ORDER BY id DESC") +
                    " LIMIT ?";
  std::lock_guard lock(mutex_);
  Statement query(db_, sql);
  int index = 1;
  for (const auto& channel : filter.channels) query.bind(index++, channel);
  if (!filter.user.empty()) {
    query.bind(index++, filter.user);
    query.bind(index++, filter.user);
  }
  if (after) query.bind(index++, *after);
  query.bind(index, limit);
  std::vector<Message> messages;
  while (query.ok() && query.step() == SQLITE_ROW) messages.push_back(read_message(query));
  if (!after) std::reverse(messages.begin(), messages.end());
  return messages;
}

std::vector<Message> MessageStore::load_after(int64_t after, size_t max_count, size_t max_bytes) {
  std::lock_guard lock(mutex_);
  Statement query(db_, std::string("SELECT ") + kMessageColumns +
                           " FROM messages WHERE id > ? ORDER BY id ASC LIMIT ?");
  query.bind(1, after);
  query.bind(2, static_cast<int64_t>(max_count));
  std::vector<Message> messages;
  size_t bytes = 0;
  while (query.ok() && query.step() == SQLITE_ROW) {
    messages.push_back(read_message(query));
    bytes += messages.back().content.size();
    if (bytes >= max_bytes) break;
  }
  return messages;
}

std::vector<MessageStore::ChannelSummary> MessageStore::channels() {
  std::lock_guard lock(mutex_);
  Statement query(db_,
                  "SELECT channel, COUNT(*), MAX(id), MAX(created_ms) FROM messages "
                  "WHERE recipient IS NULL GROUP BY channel ORDER BY MAX(id) DESC");
  std::vector<ChannelSummary> out;
  while (query.ok() && query.step() == SQLITE_ROW) {
    out.push_back(
        ChannelSummary{query.text_at(0), query.int64_at(1), query.int64_at(2), query.int64_at(3)});
  }
  return out;
}

int64_t MessageStore::forwarded_upto() {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT forwarded_upto FROM forward_state WHERE singleton = 1");
  if (query.ok() && query.step() == SQLITE_ROW) return query.int64_at(0);
  return 0;
}

bool MessageStore::set_forwarded_upto(int64_t id) {
  std::lock_guard lock(mutex_);
  Statement update(db_, "UPDATE forward_state SET forwarded_upto = ? WHERE singleton = 1");
  update.bind(1, id);
  return update.ok() && update.step() == SQLITE_DONE;
}

int64_t MessageStore::last_id() {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT COALESCE(MAX(id), 0) FROM messages");
  if (query.ok() && query.step() == SQLITE_ROW) return query.int64_at(0);
  return 0;
}

bool MessageStore::healthy() {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT 1");
  return query.ok() && query.step() == SQLITE_ROW;
}

}  // namespace relay
