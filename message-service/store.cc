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
CREATE TABLE IF NOT EXISTS message_status (
  message_id INTEGER NOT NULL REFERENCES messages(id),
  user TEXT NOT NULL,
  status INTEGER NOT NULL CHECK (status IN (1, 2)),
  event_id INTEGER NOT NULL UNIQUE,
  updated_ms INTEGER NOT NULL,
  PRIMARY KEY (message_id, user)
);
PRAGMA user_version = 2;
)sql";

// Receipt statuses as stored: the rank orders them (status only moves forward).
constexpr int kDelivered = 1;
constexpr int kRead = 2;

const char* status_name(int rank) {
  return rank >= kRead ? "read" : "delivered";
}

// The event log: messages and receipts in one id order, each row shaped like a message (a
// receipt takes its message's channel, and for a DM the other party as recipient, so the same
// visibility rule applies to both). ?1 is the id to read after, ?2 the most rows; each part reads
// at most ?2 rows along its own index (the first ?2 of the union are among them), so a page costs
// its size, not the length of the log after ?1.
constexpr const char* kLogMessages =
    "SELECT id, content, user, channel, recipient, created_ms, 0 AS kind, 0 AS message_id, "
    "0 AS status FROM messages WHERE id > ?1";
constexpr const char* kReceiptRecipient =
    "(CASE WHEN m.recipient IS NULL THEN NULL WHEN s.user = m.user THEN m.recipient ELSE m.user "
    "END)";
const std::string kLogReceipts =
    std::string("SELECT s.event_id, '', s.user, m.channel, ") + kReceiptRecipient +
    ", s.updated_ms, 1, s.message_id, s.status FROM message_status s JOIN messages m ON m.id = "
    "s.message_id WHERE s.event_id > ?1";

Message read_log_row(Statement& statement) {
  Message event = read_message(statement);
  if (statement.int64_at(6) == 1) {
    event.kind = EventKind::kReceipt;
    event.message_id = statement.int64_at(7);
    event.status = status_name(static_cast<int>(statement.int64_at(8)));
  }
  return event;
}

// Where the visibility rule finds an event's recipient, channel and sender (or reader).
struct VisibilityColumns {
  std::string recipient = "recipient";
  std::string channel = "channel";
  std::string user = "user";
};

// The SQL condition for what `filter` lets through, over `columns`, with numbered parameters from
// `first_index` on; the values to bind to them are appended to `values`.
std::string visible_sql(const MessageFilter& filter, int first_index,
                        std::vector<std::string>* values, const VisibilityColumns& columns = {}) {
  auto parameter = [&](const std::string& value) {
    values->push_back(value);
    return "?" + std::to_string(first_index + static_cast<int>(values->size()) - 1);
  };
  std::string visible = "(" + columns.recipient + " IS NULL";
  if (!filter.channels.empty()) {
    visible += " AND " + columns.channel + " IN (";
    for (size_t i = 0; i < filter.channels.size(); ++i) {
      visible += (i == 0 ? "" : ", ") + parameter(filter.channels[i]);
    }
    visible += ")";
  }
  visible += ")";
  if (!filter.user.empty()) {
    std::string user = parameter(filter.user);
    visible += " OR (" + columns.recipient + " IS NOT NULL AND (" + columns.recipient + " = " +
               user + " OR " + columns.user + " = " + user + "))";
  }
  return "(" + visible + ")";
}

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
    result.message = Message{};
    result.message.id = sqlite3_last_insert_rowid(db_);
    result.message.content = draft.content;
    result.message.user = draft.user;
    result.message.channel = draft.channel;
    result.message.to = draft.to;
    result.message.timestamp_ms = now;
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
                                        int limit, const std::string& with) {
  std::vector<std::string> values;
  std::string visible;
  if (with.empty()) {
    visible = visible_sql(filter, 1, &values);
  } else {
    visible =
        "(recipient IS NOT NULL AND ((user = ? AND recipient = ?) OR (user = ? AND "
        "recipient = ?)))";
    values = {filter.user, with, with, filter.user};
  }
  std::string sql = std::string("SELECT ") + kMessageColumns + " FROM messages WHERE " + visible +
                    (after ? " AND id > ? ORDER BY id ASC" : " ORDER BY id DESC") + " LIMIT ?";
  std::lock_guard lock(mutex_);
  Statement query(db_, sql);
  int index = 1;
  for (const auto& value : values) query.bind(index++, value);
  if (after) query.bind(index++, *after);
  query.bind(index, limit);
  std::vector<Message> messages;
  while (query.ok() && query.step() == SQLITE_ROW) messages.push_back(read_message(query));
  if (!after) std::reverse(messages.begin(), messages.end());
  return messages;
}

std::vector<Message> MessageStore::load_after(int64_t after, size_t max_count, size_t max_bytes) {
  std::lock_guard lock(mutex_);
  return query_log_locked(nullptr, after, max_count, max_bytes);
}

std::vector<Message> MessageStore::log(const MessageFilter& filter, int64_t after, int limit) {
  std::lock_guard lock(mutex_);
  return query_log_locked(&filter, after, static_cast<size_t>(limit), SIZE_MAX);
}

std::vector<Message> MessageStore::query_log_locked(const MessageFilter* filter, int64_t after,
                                                    size_t limit, size_t max_bytes) {
  std::vector<std::string> values;
  std::string messages_sql = kLogMessages;
  std::string receipts_sql = kLogReceipts;
  if (filter) {
    messages_sql += " AND " + visible_sql(*filter, 3, &values);
    values.clear();  // the receipts' condition binds the same numbered values
    receipts_sql +=
        " AND " + visible_sql(*filter, 3, &values, {kReceiptRecipient, "m.channel", "s.user"});
  }
  std::string sql = "SELECT * FROM (" + messages_sql + " ORDER BY id LIMIT ?2) UNION ALL " +
                    "SELECT * FROM (" + receipts_sql + " ORDER BY s.event_id LIMIT ?2) " +
                    "ORDER BY 1 LIMIT ?2";
  Statement query(db_, sql);
  query.bind(1, after);
  query.bind(2, static_cast<int64_t>(limit));
  int index = 3;
  for (const auto& value : values) query.bind(index++, value);
  std::vector<Message> events;
  size_t bytes = 0;
  while (query.ok() && query.step() == SQLITE_ROW) {
    events.push_back(read_log_row(query));
    bytes += events.back().content.size();
    if (bytes >= max_bytes) break;
  }
  return events;
}

std::map<int64_t, std::vector<MessageStore::Receipt>> MessageStore::receipts_for(
    const std::vector<int64_t>& message_ids) {
  std::map<int64_t, std::vector<Receipt>> out;
  if (message_ids.empty()) return out;
  std::string sql =
      "SELECT message_id, user, status, updated_ms FROM message_status WHERE "
      "message_id IN (";
  for (size_t i = 0; i < message_ids.size(); ++i) sql += i == 0 ? "?" : ", ?";
  sql += ") ORDER BY message_id, event_id";
  std::lock_guard lock(mutex_);
  Statement query(db_, sql);
  for (size_t i = 0; i < message_ids.size(); ++i) {
    query.bind(static_cast<int>(i + 1), message_ids[i]);
  }
  while (query.ok() && query.step() == SQLITE_ROW) {
    out[query.int64_at(0)].push_back(Receipt{
        query.text_at(1), status_name(static_cast<int>(query.int64_at(2))), query.int64_at(3)});
  }
  return out;
}

MessageStore::ReceiptResult MessageStore::record_receipt(int64_t message_id,
                                                         const std::string& user,
                                                         const std::string& status) {
  ReceiptResult result;
  int rank = status == "read" ? kRead : kDelivered;
  std::lock_guard lock(mutex_);
  if (!try_record_receipt(message_id, user, rank, &result)) {
    result.outcome = ReceiptOutcome::kFailed;
    result.error = sqlite3_errmsg(db_);
    exec(db_, "ROLLBACK;");
  }
  return result;
}

// One transaction: check the message and the standing receipt, then (on a forward move) take the
// next id of the message sequence and write the receipt under it. False on a database error,
// with the transaction still open.
bool MessageStore::try_record_receipt(int64_t message_id, const std::string& user, int status_rank,
                                      ReceiptResult* result) {
  if (!exec(db_, "BEGIN IMMEDIATE;")) return false;
  Statement find(db_, std::string("SELECT ") + kMessageColumns + " FROM messages WHERE id = ?");
  find.bind(1, message_id);
  int found = find.step();
  if (found != SQLITE_ROW && found != SQLITE_DONE) return false;
  std::optional<Message> message;
  if (found == SQLITE_ROW) message = read_message(find);
  find.reset();
  auto finish = [&](ReceiptOutcome outcome) {
    result->outcome = outcome;
    return exec(db_, "COMMIT;");
  };
  if (!message || (!message->to.empty() && user != message->to && user != message->user)) {
    return finish(ReceiptOutcome::kNotFound);
  }
  if (user == message->user) return finish(ReceiptOutcome::kOwnMessage);

  Message& event = result->event;
  event.kind = EventKind::kReceipt;
  event.message_id = message_id;
  event.user = user;
  event.channel = message->channel;
  event.to = message->to.empty() ? std::string() : message->user;  // the reader is the recipient
  Statement standing(db_,
                     "SELECT status, event_id, updated_ms FROM message_status WHERE message_id = ? "
                     "AND user = ?");
  standing.bind(1, message_id);
  standing.bind(2, user);
  int row = standing.step();
  if (row != SQLITE_ROW && row != SQLITE_DONE) return false;
  if (row == SQLITE_ROW && standing.int64_at(0) >= status_rank) {
    event.status = status_name(static_cast<int>(standing.int64_at(0)));
    event.id = standing.int64_at(1);
    event.timestamp_ms = standing.int64_at(2);
    standing.reset();
    return finish(ReceiptOutcome::kUnchanged);
  }
  standing.reset();
  // AUTOINCREMENT never reuses an id at or below sqlite_sequence's value, so raising it reserves
  // the next id of the message sequence for this receipt (the message exists, so the row does).
  if (!exec(db_, "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'messages';")) return false;
  Statement next(db_, "SELECT seq FROM sqlite_sequence WHERE name = 'messages'");
  if (next.step() != SQLITE_ROW) return false;
  event.id = next.int64_at(0);
  next.reset();
  event.status = status_name(status_rank);
  event.timestamp_ms = now_unix_ms();
  Statement write(db_,
                  "INSERT INTO message_status (message_id, user, status, event_id, updated_ms) "
                  "VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id, user) DO UPDATE SET "
                  "status = excluded.status, event_id = excluded.event_id, "
                  "updated_ms = excluded.updated_ms");
  write.bind(1, message_id);
  write.bind(2, user);
  write.bind(3, static_cast<int64_t>(status_rank));
  write.bind(4, event.id);
  write.bind(5, event.timestamp_ms);
  if (write.step() != SQLITE_DONE) return false;
  write.reset();
  return finish(ReceiptOutcome::kChanged);
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
  // Receipts take ids by raising the sequence without adding a message row.
  Statement query(db_,
                  "SELECT MAX(COALESCE((SELECT MAX(id) FROM messages), 0), "
                  "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0))");
  if (query.ok() && query.step() == SQLITE_ROW) return query.int64_at(0);
  return 0;
}

bool MessageStore::healthy() {
  std::lock_guard lock(mutex_);
  Statement query(db_, "SELECT 1");
  return query.ok() && query.step() == SQLITE_ROW;
}

}  // namespace relay
