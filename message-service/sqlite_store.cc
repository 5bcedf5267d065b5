#include "message-service/sqlite_store.h"

#include <algorithm>
#include <filesystem>

#include <sqlite3.h>

#include "message-service/sqlite_statement.h"
#include "message-service/visibility_sql.h"
#include "shared/time_format.h"

namespace relay {

namespace {

#define RELAY_MESSAGE_COLUMNS "id, content, user, channel, recipient, created_ms"

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

bool same_draft(const Message& stored, const MessageDraft& draft) {
  return stored.content == draft.content && stored.user == draft.user &&
         stored.channel == draft.channel && stored.to == draft.to;
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
#define RELAY_RECEIPT_RECIPIENT                                                                 \
  "(CASE WHEN m.recipient IS NULL THEN NULL WHEN s.user = m.user THEN m.recipient ELSE m.user " \
  "END)"
constexpr const char* kLogMessages =
    "SELECT id, content, user, channel, recipient, created_ms, 0 AS kind, 0 AS message_id, "
    "0 AS status FROM messages WHERE id > ?1";
constexpr const char* kLogReceipts =
    "SELECT s.event_id, '', s.user, m.channel, " RELAY_RECEIPT_RECIPIENT
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

// The log's SQL: messages and receipts after ?1, in id order, at most ?2; with a filter, only what
// it may see, its values numbered from ?3 and appended to `values`.
std::string log_query_sql(const MessageFilter* filter, std::vector<std::string>* values) {
  std::string sql = "SELECT * FROM (";
  sql.append(kLogMessages);
  if (filter) {
    sql.append(" AND ");
    append_visible_sql(*filter, 3, '?', values, &sql);
  }
  sql.append(" ORDER BY id LIMIT ?2) UNION ALL SELECT * FROM (");
  sql.append(kLogReceipts);
  if (filter) {
    std::vector<std::string> same;  // the receipts' condition binds the same numbered values
    sql.append(" AND ");
    append_visible_sql(*filter, 3, '?', &same, &sql,
                       {RELAY_RECEIPT_RECIPIENT, "m.channel", "s.user"});
  }
  sql.append(" ORDER BY s.event_id LIMIT ?2) ORDER BY 1 LIMIT ?2");
  return sql;
}

// Runs a log query (log_query_sql, its filter values bound) and reads its rows.
StoreRead<std::vector<Message>> read_log_rows(sqlite3* db, Statement& query, int64_t after,
                                              size_t limit, size_t max_bytes) {
  query.bind(1, after);
  query.bind(2, static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)));
  std::vector<Message> events;
  size_t bytes = 0;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    events.push_back(read_log_row(query));
    bytes += events.back().content.size();
    if (bytes >= max_bytes) {
      rc = SQLITE_DONE;
      break;
    }
  }
  if (rc != SQLITE_DONE) return StoreRead<std::vector<Message>>::failed(sqlite3_errmsg(db));
  return StoreRead<std::vector<Message>>::succeeded(std::move(events));
}

}  // namespace

// Every statement with fixed SQL, prepared once at open and reused (reset after each use).
struct SqliteMessageStore::Statements {
  explicit Statements(sqlite3* db)
      : begin_immediate(db, "BEGIN IMMEDIATE"),
        begin_read(db, "BEGIN"),
        commit(db, "COMMIT"),
        rollback(db, "ROLLBACK"),
        find_by_key(db, "SELECT " RELAY_MESSAGE_COLUMNS " FROM messages WHERE idempotency_key = ?"),
        insert_message(db,
                       "INSERT INTO messages (content, user, channel, recipient, created_ms, "
                       "idempotency_key) VALUES (?, ?, ?, ?, ?, ?)"),
        get_by_id(db, "SELECT " RELAY_MESSAGE_COLUMNS " FROM messages WHERE id = ?"),
        // Receipts take ids by raising the sequence without adding a message row.
        last_id(db,
                "SELECT MAX(COALESCE((SELECT MAX(id) FROM messages), 0), "
                "COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'messages'), 0))"),
        forwarded_upto(db, "SELECT forwarded_upto FROM forward_state WHERE singleton = 1"),
        set_forwarded_upto(
            db,
            "UPDATE forward_state SET forwarded_upto = MAX(forwarded_upto, ?) WHERE singleton = 1"),
        standing_receipt(db,
                         "SELECT status, event_id, updated_ms FROM message_status WHERE "
                         "message_id = ? AND user = ?"),
        // AUTOINCREMENT never reuses an id at or below sqlite_sequence's value, so raising it
        // reserves the next id of the message sequence (the message exists, so the row does).
        take_next_id(db,
                     "UPDATE sqlite_sequence SET seq = seq + 1 WHERE name = 'messages' "
                     "RETURNING seq"),
        write_receipt(db,
                      "INSERT INTO message_status (message_id, user, status, event_id, "
                      "updated_ms) VALUES (?, ?, ?, ?, ?) ON CONFLICT (message_id, user) DO "
                      "UPDATE SET status = excluded.status, event_id = excluded.event_id, "
                      "updated_ms = excluded.updated_ms"),
        channels(db,
                 "SELECT channel, COUNT(*), MAX(id), MAX(created_ms) FROM messages "
                 "WHERE recipient IS NULL GROUP BY channel ORDER BY MAX(id) DESC"),
        log_unfiltered(db, log_query_sql(nullptr, nullptr)) {}

  bool ok() const {
    for (const Statement* statement :
         {&begin_immediate, &begin_read, &commit, &rollback, &find_by_key, &insert_message,
          &get_by_id, &last_id, &forwarded_upto, &set_forwarded_upto, &standing_receipt,
          &take_next_id, &write_receipt, &channels, &log_unfiltered}) {
      if (!statement->ok()) return false;
    }
    return true;
  }

  Statement begin_immediate;
  Statement begin_read;
  Statement commit;
  Statement rollback;
  Statement find_by_key;
  Statement insert_message;
  Statement get_by_id;
  Statement last_id;
  Statement forwarded_upto;
  Statement set_forwarded_upto;
  Statement standing_receipt;
  Statement take_next_id;
  Statement write_receipt;
  Statement channels;
  Statement log_unfiltered;  // log_query_sql without a filter: the forwarder's read
};

std::unique_ptr<MessageStore> SqliteMessageStore::open(const std::string& data_dir,
                                                       std::string* error) {
  std::string path;
  sqlite3* db = open_database(data_dir, "messages.db", kSchema, &path, error);
  if (db == nullptr) return nullptr;
  auto statements = std::make_unique<Statements>(db);
  if (!statements->ok()) {
    *error = "cannot prepare the statements of " + path + ": " + sqlite3_errmsg(db);
    statements.reset();
    sqlite3_close(db);
    return nullptr;
  }
  return std::unique_ptr<MessageStore>(new SqliteMessageStore(db, std::move(statements)));
}

SqliteMessageStore::SqliteMessageStore(sqlite3* db, std::unique_ptr<Statements> statements)
    : db_(db), statements_(std::move(statements)) {
  start_committing();
}

SqliteMessageStore::~SqliteMessageStore() {
  stop();               // every queued group written while the database is still open
  statements_.reset();  // finalised before the close, or the close would refuse
  sqlite3_close(db_);
}

void SqliteMessageStore::write_group(std::span<PendingInsert> group) {
  int64_t now = now_unix_ms();  // one time for the group: its messages are committed together
  std::string error;
  std::lock_guard lock(mutex_);
  if (try_write_group(group, now, &error)) return;
  run(statements_->rollback);
  for (PendingInsert& pending : group) {
    pending.result = InsertResult{InsertOutcome::kFailed, {}, error};
  }
}

// Every step of the group in one transaction: a replay or conflict is decided against what is
// committed and what earlier items of this group wrote (the transaction sees its own rows).
// False at the first failure, with SQLite's reason in `*error` and the transaction still open.
bool SqliteMessageStore::try_write_group(std::span<PendingInsert> group, int64_t now_ms,
                                         std::string* error) {
  Statements& s = *statements_;
  // Taken at once: resetting a statement, and ROLLBACK, replace the message.
  auto fail = [&] {
    *error = sqlite3_errmsg(db_);
    return false;
  };
  if (!run(s.begin_immediate)) return fail();
  for (PendingInsert& pending : group) {
    MessageDraft& draft = pending.draft;
    const std::string& key = pending.idempotency_key;
    InsertResult& result = pending.result;
    if (!key.empty()) {
      ResetOnExit reset(s.find_by_key);
      s.find_by_key.bind_borrowed(1, key);
      int found = s.find_by_key.step();
      if (found == SQLITE_ROW) {
        result.message = read_message(s.find_by_key);
        result.outcome =
            same_draft(result.message, draft) ? InsertOutcome::kReplayed : InsertOutcome::kConflict;
        continue;
      }
      if (found != SQLITE_DONE) return fail();
    }
    {
      ResetOnExit reset(s.insert_message);
      Statement& add = s.insert_message;
      add.bind_borrowed(1, draft.content);
      add.bind_borrowed(2, draft.user);
      add.bind_borrowed(3, draft.channel);
      if (draft.to.empty()) {
        add.bind_null(4);
      } else {
        add.bind_borrowed(4, draft.to);
      }
      add.bind(5, now_ms);
      if (key.empty()) {
        add.bind_null(6);
      } else {
        add.bind_borrowed(6, key);
      }
      if (add.step() != SQLITE_DONE) return fail();
    }
    // The statement was reset, so the draft's strings are free to move into the answer.
    result.outcome = InsertOutcome::kCreated;
    result.message.id = sqlite3_last_insert_rowid(db_);
    result.message.content = std::move(draft.content);
    result.message.user = std::move(draft.user);
    result.message.channel = std::move(draft.channel);
    result.message.to = std::move(draft.to);
    result.message.timestamp_ms = now_ms;
  }
  return run(s.commit) || fail();
}

StoreRead<std::optional<Message>> SqliteMessageStore::get(int64_t id) {
  std::lock_guard lock(mutex_);
  Statement& find = statements_->get_by_id;
  ResetOnExit reset(find);
  find.bind(1, id);
  int rc = find.step();
  if (rc == SQLITE_ROW) return StoreRead<std::optional<Message>>::succeeded(read_message(find));
  if (rc == SQLITE_DONE) return StoreRead<std::optional<Message>>::succeeded(std::nullopt);
  return StoreRead<std::optional<Message>>::failed(sqlite3_errmsg(db_));
}

StoreRead<std::vector<Message>> SqliteMessageStore::list(const MessageFilter& filter,
                                                         std::optional<int64_t> after, int limit,
                                                         const std::string& with) {
  std::vector<std::string> values;
  std::string sql = "SELECT " RELAY_MESSAGE_COLUMNS " FROM messages WHERE ";
  if (with.empty()) {
    append_visible_sql(filter, 1, '?', &values, &sql);
  } else {
    sql.append(
        "(recipient IS NOT NULL AND ((user = ? AND recipient = ?) OR (user = ? AND "
        "recipient = ?)))");
    values = {filter.user, with, with, filter.user};
  }
  sql.append(after ? " AND id > ? ORDER BY id ASC LIMIT ?" : " ORDER BY id DESC LIMIT ?");
  std::lock_guard lock(mutex_);
  Statement query(db_, sql);
  if (!query.ok()) return StoreRead<std::vector<Message>>::failed(sqlite3_errmsg(db_));
  int index = 1;
  for (const auto& value : values) query.bind_borrowed(index++, value);
  if (after) query.bind(index++, *after);
  query.bind(index, limit);
  std::vector<Message> messages;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) messages.push_back(read_message(query));
  if (rc != SQLITE_DONE) return StoreRead<std::vector<Message>>::failed(sqlite3_errmsg(db_));
  if (!after) std::reverse(messages.begin(), messages.end());
  return StoreRead<std::vector<Message>>::succeeded(std::move(messages));
}

StoreRead<std::vector<Message>> SqliteMessageStore::load_after(int64_t after, size_t max_count,
                                                               size_t max_bytes) {
  std::lock_guard lock(mutex_);
  return query_log_locked(nullptr, after, max_count, max_bytes);
}

StoreRead<SqliteMessageStore::LogPage> SqliteMessageStore::log(const MessageFilter& filter,
                                                               int64_t after, int limit) {
  std::lock_guard lock(mutex_);
  Statements& s = *statements_;
  // One read transaction: the page and the newest id come from the same snapshot.
  if (!run(s.begin_read)) return StoreRead<LogPage>::failed(sqlite3_errmsg(db_));
  auto events = query_log_locked(&filter, after, static_cast<size_t>(limit), SIZE_MAX);
  auto last = events.ok() ? last_id_locked() : StoreRead<int64_t>::failed(events.error);
  if (!last.ok()) {
    run(s.rollback);
    return StoreRead<LogPage>::failed(last.error);
  }
  if (!run(s.commit)) {
    std::string error = sqlite3_errmsg(db_);
    run(s.rollback);
    return StoreRead<LogPage>::failed(error);
  }
  return StoreRead<LogPage>::succeeded(LogPage{std::move(*events), *last});
}

StoreRead<std::vector<Message>> SqliteMessageStore::query_log_locked(const MessageFilter* filter,
                                                                     int64_t after, size_t limit,
                                                                     size_t max_bytes) {
  if (filter == nullptr) {  // the forwarder's read, many times a second: prepared once
    Statement& query = statements_->log_unfiltered;
    ResetOnExit reset(query);
    return read_log_rows(db_, query, after, limit, max_bytes);
  }
  std::vector<std::string> values;
  Statement query(db_, log_query_sql(filter, &values));
  if (!query.ok()) return StoreRead<std::vector<Message>>::failed(sqlite3_errmsg(db_));
  int index = 3;
  for (const auto& value : values) query.bind_borrowed(index++, value);
  return read_log_rows(db_, query, after, limit, max_bytes);
}

StoreRead<std::map<int64_t, std::vector<SqliteMessageStore::Receipt>>>
SqliteMessageStore::receipts_for(const std::vector<int64_t>& message_ids) {
  using Read = StoreRead<std::map<int64_t, std::vector<Receipt>>>;
  std::map<int64_t, std::vector<Receipt>> out;
  if (message_ids.empty()) return Read::succeeded(std::move(out));
  std::string sql =
      "SELECT message_id, user, status, updated_ms FROM message_status WHERE message_id IN (?";
  for (size_t i = 1; i < message_ids.size(); ++i) sql.append(", ?");
  sql.append(") ORDER BY message_id, event_id");
  std::lock_guard lock(mutex_);
  Statement query(db_, sql);
  if (!query.ok()) return Read::failed(sqlite3_errmsg(db_));
  for (size_t i = 0; i < message_ids.size(); ++i) {
    query.bind(static_cast<int>(i + 1), message_ids[i]);
  }
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    out[query.int64_at(0)].push_back(Receipt{
        query.text_at(1), status_name(static_cast<int>(query.int64_at(2))), query.int64_at(3)});
  }
  if (rc != SQLITE_DONE) return Read::failed(sqlite3_errmsg(db_));
  return Read::succeeded(std::move(out));
}

SqliteMessageStore::ReceiptResult SqliteMessageStore::record_receipt(int64_t message_id,
                                                                     const std::string& user,
                                                                     const std::string& status) {
  ReceiptResult result;
  int rank = status == "read" ? kRead : kDelivered;
  int64_t now = now_unix_ms();
  std::lock_guard lock(mutex_);
  if (!try_record_receipt(message_id, user, rank, now, &result)) {
    result.outcome = ReceiptOutcome::kFailed;
    result.error = sqlite3_errmsg(db_);
    run(statements_->rollback);
  }
  return result;
}

// One transaction: check the message and the standing receipt, then (on a forward move) take the
// next id of the message sequence and write the receipt under it. False on a database error,
// with the transaction still open and SQLite's reason in sqlite3_errmsg().
bool SqliteMessageStore::try_record_receipt(int64_t message_id, const std::string& user,
                                            int status_rank, int64_t now_ms,
                                            ReceiptResult* result) {
  Statements& s = *statements_;
  if (!run(s.begin_immediate)) return false;
  std::optional<Message> message;
  {
    ResetOnExit reset(s.get_by_id);
    s.get_by_id.bind(1, message_id);
    int found = s.get_by_id.step();
    if (found != SQLITE_ROW && found != SQLITE_DONE) return false;
    if (found == SQLITE_ROW) message = read_message(s.get_by_id);
  }
  auto finish = [&](ReceiptOutcome outcome) {
    result->outcome = outcome;
    return run(s.commit);
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
  {
    ResetOnExit reset(s.standing_receipt);
    s.standing_receipt.bind(1, message_id);
    s.standing_receipt.bind_borrowed(2, user);
    int row = s.standing_receipt.step();
    if (row != SQLITE_ROW && row != SQLITE_DONE) return false;
    if (row == SQLITE_ROW && s.standing_receipt.int64_at(0) >= status_rank) {
      event.status = status_name(static_cast<int>(s.standing_receipt.int64_at(0)));
      event.id = s.standing_receipt.int64_at(1);
      event.timestamp_ms = s.standing_receipt.int64_at(2);
      return finish(ReceiptOutcome::kUnchanged);
    }
  }
  {
    ResetOnExit reset(s.take_next_id);
    if (s.take_next_id.step() != SQLITE_ROW) return false;
    event.id = s.take_next_id.int64_at(0);
    if (s.take_next_id.step() != SQLITE_DONE) return false;
  }
  event.status = status_name(status_rank);
  event.timestamp_ms = now_ms;
  {
    ResetOnExit reset(s.write_receipt);
    Statement& write = s.write_receipt;
    write.bind(1, message_id);
    write.bind_borrowed(2, user);
    write.bind(3, static_cast<int64_t>(status_rank));
    write.bind(4, event.id);
    write.bind(5, event.timestamp_ms);
    if (write.step() != SQLITE_DONE) return false;
  }
  return finish(ReceiptOutcome::kChanged);
}

StoreRead<std::vector<SqliteMessageStore::ChannelSummary>> SqliteMessageStore::channels() {
  using Read = StoreRead<std::vector<ChannelSummary>>;
  std::lock_guard lock(mutex_);
  Statement& query = statements_->channels;
  ResetOnExit reset(query);
  std::vector<ChannelSummary> out;
  int rc;
  while ((rc = query.step()) == SQLITE_ROW) {
    out.push_back(
        ChannelSummary{query.text_at(0), query.int64_at(1), query.int64_at(2), query.int64_at(3)});
  }
  if (rc != SQLITE_DONE) return Read::failed(sqlite3_errmsg(db_));
  return Read::succeeded(std::move(out));
}

StoreRead<int64_t> SqliteMessageStore::forwarded_upto() {
  std::lock_guard lock(mutex_);
  Statement& query = statements_->forwarded_upto;
  ResetOnExit reset(query);
  int rc = query.step();
  if (rc == SQLITE_ROW) return StoreRead<int64_t>::succeeded(query.int64_at(0));
  // The schema always holds the row: none is as broken as an error.
  return StoreRead<int64_t>::failed(rc == SQLITE_DONE ? "forward_state has no row"
                                                      : sqlite3_errmsg(db_));
}

bool SqliteMessageStore::set_forwarded_upto(int64_t id) {
  std::lock_guard lock(mutex_);
  Statement& update = statements_->set_forwarded_upto;
  update.bind(1, id);
  return run(update) && sqlite3_changes(db_) == 1;
}

StoreRead<int64_t> SqliteMessageStore::last_id() {
  std::lock_guard lock(mutex_);
  return last_id_locked();
}

StoreRead<int64_t> SqliteMessageStore::last_id_locked() {
  Statement& query = statements_->last_id;
  ResetOnExit reset(query);
  if (query.step() == SQLITE_ROW) return StoreRead<int64_t>::succeeded(query.int64_at(0));
  return StoreRead<int64_t>::failed(sqlite3_errmsg(db_));
}

bool SqliteMessageStore::healthy() {
  return last_id().ok();
}

}  // namespace relay
