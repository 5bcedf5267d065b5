#include "message-service/postgres_store.h"

#include <algorithm>
#include <unordered_map>

#include "message-service/visibility_sql.h"
#include "shared/time_format.h"

namespace relay {

namespace {

// Created once, by whichever instance starts first: the advisory lock keeps two instances that
// start together from racing on CREATE (IF NOT EXISTS is not safe against a concurrent CREATE).
// The key is the project's own (0x72656c6179000001, "relay" 1), distinct from the lease's.
constexpr const char* kSchema = R"sql(
BEGIN;
SELECT pg_advisory_xact_lock(8243113858869231617);
CREATE TABLE IF NOT EXISTS relay_sequence (
  singleton smallint PRIMARY KEY CHECK (singleton = 1),
  last_id bigint NOT NULL
);
INSERT INTO relay_sequence (singleton, last_id) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS relay_messages (
  id bigint PRIMARY KEY,
  content bytea NOT NULL,
  sender text NOT NULL,
  channel text NOT NULL,
  recipient text,
  created_ms bigint NOT NULL,
  idempotency_key text UNIQUE
);
CREATE INDEX IF NOT EXISTS relay_messages_by_channel ON relay_messages (channel, id)
  WHERE recipient IS NULL;
CREATE INDEX IF NOT EXISTS relay_messages_by_recipient ON relay_messages (recipient, id)
  WHERE recipient IS NOT NULL;
CREATE INDEX IF NOT EXISTS relay_messages_by_sender ON relay_messages (sender, id)
  WHERE recipient IS NOT NULL;
CREATE TABLE IF NOT EXISTS relay_forward_state (
  singleton smallint PRIMARY KEY CHECK (singleton = 1),
  forwarded_upto bigint NOT NULL
);
INSERT INTO relay_forward_state (singleton, forwarded_upto) VALUES (1, 0) ON CONFLICT DO NOTHING;
CREATE TABLE IF NOT EXISTS relay_message_status (
  message_id bigint NOT NULL REFERENCES relay_messages (id),
  reader text NOT NULL,
  status smallint NOT NULL CHECK (status IN (1, 2)),
  event_id bigint NOT NULL UNIQUE,
  updated_ms bigint NOT NULL,
  PRIMARY KEY (message_id, reader)
);
COMMIT;
)sql";

#define RELAY_PG_MESSAGE_COLUMNS "id, content, sender, channel, recipient, created_ms"
constexpr VisibilityColumns kMessageColumns{"recipient", "channel", "sender"};

// Every transaction that takes ids starts here: the row lock orders them (see the class comment).
constexpr const char* kLockSequence =
    "SELECT last_id FROM relay_sequence WHERE singleton = 1 FOR UPDATE";

constexpr int kDelivered = 1;
constexpr int kRead = 2;

const char* status_name(int rank) {
  return rank >= kRead ? "read" : "delivered";
}

Message read_message(const PgResult& rows, int row) {
  Message message;
  message.id = rows.number(row, 0);
  message.content = rows.bytes(row, 1);
  message.user = rows.text(row, 2);
  message.channel = rows.text(row, 3);
  message.to = rows.text(row, 4);
  message.timestamp_ms = rows.number(row, 5);
  return message;
}

bool same_draft(const Message& stored, const MessageDraft& draft) {
  return stored.content == draft.content && stored.user == draft.user &&
         stored.channel == draft.channel && stored.to == draft.to;
}

// The event log, as SqliteMessageStore's: messages and receipts in one id order, a receipt shaped
// like a message (its message's channel, for a DM the other party as recipient). $1 is the id to
// read after, $2 the most rows; each part reads at most $2 along its own index.
#define RELAY_PG_RECEIPT_RECIPIENT                                                           \
  "(CASE WHEN m.recipient IS NULL THEN NULL WHEN s.reader = m.sender THEN m.recipient ELSE " \
  "m.sender END)"
constexpr VisibilityColumns kReceiptColumns{RELAY_PG_RECEIPT_RECIPIENT, "m.channel", "s.reader"};

std::string log_query_sql(const MessageFilter* filter, std::vector<std::string>* values) {
  std::string sql =
      "(SELECT id, content, sender, channel, recipient, created_ms, 0 AS kind, "
      "0::bigint AS message_id, 0::smallint AS status FROM relay_messages WHERE id > $1::bigint";
  if (filter) {
    sql.append(" AND ");
    append_visible_sql(*filter, 3, '$', values, &sql, kMessageColumns);
  }
  sql.append(
      " ORDER BY id LIMIT $2::bigint) UNION ALL (SELECT s.event_id, ''::bytea, s.reader, "
      "m.channel, " RELAY_PG_RECEIPT_RECIPIENT
      ", s.updated_ms, 1, s.message_id, s.status FROM relay_message_status s JOIN "
      "relay_messages m ON m.id = s.message_id WHERE s.event_id > $1::bigint");
  if (filter) {
    std::vector<std::string> same;  // the same numbered values as the messages' condition
    sql.append(" AND ");
    append_visible_sql(*filter, 3, '$', &same, &sql, kReceiptColumns);
  }
  sql.append(" ORDER BY s.event_id LIMIT $2::bigint) ORDER BY 1 LIMIT $2::bigint");
  return sql;
}

std::vector<PgParam> text_params(const std::vector<std::string>& values) {
  std::vector<PgParam> params;
  params.reserve(values.size());
  for (const std::string& value : values) params.push_back(PgParam::text(value));
  return params;
}

StoreRead<std::vector<Message>> run_log_query(PgConnection& db, const MessageFilter* filter,
                                              int64_t after, size_t limit, size_t max_bytes) {
  std::vector<std::string> values;
  std::string sql = log_query_sql(filter, &values);
  std::vector<PgParam> params{
      PgParam::number(after),
      PgParam::number(static_cast<int64_t>(std::min<size_t>(limit, INT64_MAX)))};
  for (const std::string& value : values) params.push_back(PgParam::text(value));
  PgResult rows = db.exec_repeatable(sql, params);
  if (!rows.ok()) return StoreRead<std::vector<Message>>::failed(rows.error());
  std::vector<Message> events;
  size_t bytes = 0;
  for (int row = 0; row < rows.rows(); ++row) {
    Message event = read_message(rows, row);
    if (rows.number(row, 6) == 1) {
      event.kind = EventKind::kReceipt;
      event.message_id = rows.number(row, 7);
      event.status = status_name(static_cast<int>(rows.number(row, 8)));
    }
    bytes += event.content.size();
    events.push_back(std::move(event));
    if (bytes >= max_bytes) break;
  }
  return StoreRead<std::vector<Message>>::succeeded(std::move(events));
}

// Ends a transaction that failed: ROLLBACK, or drop the connection when even that fails (a
// connection left inside an aborted transaction would refuse everything after).
void abandon(PgConnection& db) {
  if (!db.exec("ROLLBACK").ok()) db.reset();
}

StoreRead<int64_t> read_number(PgConnection& db, const char* sql, const char* what) {
  PgResult rows = db.exec_repeatable(sql);
  if (!rows.ok()) return StoreRead<int64_t>::failed(rows.error());
  if (rows.rows() != 1) return StoreRead<int64_t>::failed(std::string(what) + " has no row");
  return StoreRead<int64_t>::succeeded(rows.number(0, 0));
}

}  // namespace

std::unique_ptr<MessageStore> PostgresMessageStore::open(const std::string& url,
                                                         std::string* error) {
  if (!pg_prepare_schema(url, kSchema, "the PostgreSQL store", error)) return nullptr;
  return std::unique_ptr<MessageStore>(new PostgresMessageStore(url));
}

PostgresMessageStore::PostgresMessageStore(const std::string& url)
    : writer_(url), readers_(url, kReadConnections) {
  start_committing();
}

PostgresMessageStore::~PostgresMessageStore() {
  stop();  // every queued group written while the connection is still open
}

void PostgresMessageStore::write_group(std::span<PendingInsert> group) {
  int64_t now = now_unix_ms();
  std::string error;
  if (try_write_group(group, now, &error)) return;
  abandon(writer_);
  for (PendingInsert& pending : group) {
    pending.result = InsertResult{InsertOutcome::kFailed, {}, error};
  }
}

// One transaction under the sequence row's lock: which keys were used before (committed, or
// earlier in this group), then every new message in one INSERT with the ids that follow the
// sequence's value, the raised value and a NOTIFY in the same statement. False at the first
// failure, with the reason in `*error` and the transaction possibly open.
bool PostgresMessageStore::try_write_group(std::span<PendingInsert> group, int64_t now_ms,
                                           std::string* error) {
  auto fail = [&](const PgResult& result) {
    *error = result.error();
    return false;
  };
  PgResult begun = writer_.exec_repeatable("BEGIN");
  if (!begun.ok()) return fail(begun);
  PgResult locked = writer_.exec(kLockSequence);
  if (!locked.ok()) return fail(locked);
  if (locked.rows() != 1) {
    *error = "relay_sequence has no row";
    return false;
  }
  int64_t last = locked.number(0, 0);

  // Keys already committed (the lock serialises writers, so none can appear meanwhile).
  std::unordered_map<std::string, Message> used;
  std::vector<PgParam> keys;
  for (const PendingInsert& pending : group) {
    if (!pending.idempotency_key.empty()) keys.push_back(PgParam::text(pending.idempotency_key));
  }
  if (!keys.empty()) {
    std::string sql = "SELECT " RELAY_PG_MESSAGE_COLUMNS
                      ", idempotency_key FROM relay_messages WHERE idempotency_key IN ";
    sql.append(pg_value_rows(1, keys.size()));
    PgResult found = writer_.exec(sql, keys);
    if (!found.ok()) return fail(found);
    for (int row = 0; row < found.rows(); ++row) {
      used.emplace(found.text(row, 6), read_message(found, row));
    }
  }

  constexpr size_t kColumns = 7;
  std::vector<PgParam> values;
  size_t added = 0;
  for (PendingInsert& pending : group) {
    InsertResult& result = pending.result;
    const std::string& key = pending.idempotency_key;
    if (!key.empty()) {
      auto earlier = used.find(key);
      if (earlier != used.end()) {
        result.message = earlier->second;
        result.outcome = same_draft(result.message, pending.draft) ? InsertOutcome::kReplayed
                                                                   : InsertOutcome::kConflict;
        continue;
      }
    }
    MessageDraft& draft = pending.draft;
    result.outcome = InsertOutcome::kCreated;
    result.message.id = ++last;
    result.message.timestamp_ms = now_ms;
    values.push_back(PgParam::number(result.message.id));
    values.push_back(PgParam::bytes(draft.content));
    values.push_back(PgParam::text(draft.user));
    values.push_back(PgParam::text(draft.channel));
    values.push_back(draft.to.empty() ? PgParam::null() : PgParam::text(draft.to));
    values.push_back(PgParam::number(now_ms));
    values.push_back(key.empty() ? PgParam::null() : PgParam::text(key));
    result.message.content = std::move(draft.content);
    result.message.user = std::move(draft.user);
    result.message.channel = std::move(draft.channel);
    result.message.to = std::move(draft.to);
    if (!key.empty()) used.emplace(key, result.message);
    ++added;
  }
  if (added > 0) {
    // Typed parameters: bytea arrives in binary, the rest as text.
    std::string sql =
        "WITH added AS (INSERT INTO relay_messages (id, content, sender, channel, recipient, "
        "created_ms, idempotency_key) VALUES ";
    size_t index = 1;
    for (size_t row = 0; row < added; ++row) {
      sql.append(row == 0 ? "(" : ", (");
      const char* types[kColumns] = {"bigint", "bytea", "text", "text", "text", "bigint", "text"};
      for (size_t column = 0; column < kColumns; ++column) {
        if (column > 0) sql.append(", ");
        sql.append("$").append(std::to_string(index++)).append("::").append(types[column]);
      }
      sql.push_back(')');
    }
    sql.append(" RETURNING 1), moved AS (UPDATE relay_sequence SET last_id = $");
    sql.append(std::to_string(index));
    sql.append(
        "::bigint WHERE singleton = 1 RETURNING 1) SELECT pg_notify('relay_events', '') FROM "
        "moved");
    values.push_back(PgParam::number(last));
    PgResult inserted = writer_.exec(sql, values);
    if (!inserted.ok()) return fail(inserted);
  }
  PgResult committed = writer_.exec("COMMIT");
  if (!committed.ok()) {
    // No answer to COMMIT: the connection is gone and the outcome unknown (see the class comment).
    writer_.reset();
    return fail(committed);
  }
  return true;
}

StoreRead<std::optional<Message>> PostgresMessageStore::get(int64_t id) {
  using Read = StoreRead<std::optional<Message>>;
  auto db = readers_.take();
  PgResult rows =
      db->exec_repeatable("SELECT " RELAY_PG_MESSAGE_COLUMNS " FROM relay_messages WHERE id = $1",
                          {PgParam::number(id)});
  if (!rows.ok()) return Read::failed(rows.error());
  if (rows.rows() == 0) return Read::succeeded(std::nullopt);
  return Read::succeeded(read_message(rows, 0));
}

StoreRead<std::vector<Message>> PostgresMessageStore::list(const MessageFilter& filter,
                                                           std::optional<int64_t> after, int limit,
                                                           const std::string& with) {
  using Read = StoreRead<std::vector<Message>>;
  std::vector<std::string> values;
  std::string sql = "SELECT " RELAY_PG_MESSAGE_COLUMNS " FROM relay_messages WHERE ";
  if (with.empty()) {
    append_visible_sql(filter, 1, '$', &values, &sql, kMessageColumns);
  } else {
    sql.append(
        "(recipient IS NOT NULL AND ((sender = $1 AND recipient = $2) OR (sender = $2 AND "
        "recipient = $1)))");
    values = {filter.user, with};
  }
  std::vector<PgParam> params = text_params(values);
  std::string next = std::to_string(params.size() + 1);
  if (after) {
    sql.append(" AND id > $").append(next).append("::bigint ORDER BY id ASC LIMIT $");
    sql.append(std::to_string(params.size() + 2)).append("::bigint");
    params.push_back(PgParam::number(*after));
  } else {
    sql.append(" ORDER BY id DESC LIMIT $").append(next).append("::bigint");
  }
  params.push_back(PgParam::number(limit));
  auto db = readers_.take();
  PgResult rows = db->exec_repeatable(sql, params);
  if (!rows.ok()) return Read::failed(rows.error());
  std::vector<Message> messages;
  messages.reserve(static_cast<size_t>(rows.rows()));
  for (int row = 0; row < rows.rows(); ++row) messages.push_back(read_message(rows, row));
  if (!after) std::reverse(messages.begin(), messages.end());
  return Read::succeeded(std::move(messages));
}

StoreRead<std::map<int64_t, std::vector<PostgresMessageStore::Receipt>>>
PostgresMessageStore::receipts_for(const std::vector<int64_t>& message_ids) {
  using Read = StoreRead<std::map<int64_t, std::vector<Receipt>>>;
  std::map<int64_t, std::vector<Receipt>> out;
  if (message_ids.empty()) return Read::succeeded(std::move(out));
  std::string sql =
      "SELECT message_id, reader, status, updated_ms FROM relay_message_status WHERE message_id "
      "IN (";
  std::vector<PgParam> params;
  for (size_t i = 0; i < message_ids.size(); ++i) {
    if (i > 0) sql.append(", ");
    sql.append("$").append(std::to_string(i + 1)).append("::bigint");
    params.push_back(PgParam::number(message_ids[i]));
  }
  sql.append(") ORDER BY message_id, event_id");
  auto db = readers_.take();
  PgResult rows = db->exec_repeatable(sql, params);
  if (!rows.ok()) return Read::failed(rows.error());
  for (int row = 0; row < rows.rows(); ++row) {
    out[rows.number(row, 0)].push_back(Receipt{rows.text(row, 1),
                                               status_name(static_cast<int>(rows.number(row, 2))),
                                               rows.number(row, 3)});
  }
  return Read::succeeded(std::move(out));
}

PostgresMessageStore::ReceiptResult PostgresMessageStore::record_receipt(
    int64_t message_id, const std::string& user, const std::string& status) {
  ReceiptResult result;
  int rank = status == "read" ? kRead : kDelivered;
  auto db = readers_.take();
  if (!try_record_receipt(*db, message_id, user, rank, now_unix_ms(), &result)) {
    result.outcome = ReceiptOutcome::kFailed;
    abandon(*db);
  }
  return result;
}

// One transaction under the sequence row's lock (a receipt takes the next id like a message):
// the message and the standing receipt, then on a forward move the receipt under the next id.
// False on a database error, with the reason in result->error.
bool PostgresMessageStore::try_record_receipt(PgConnection& db, int64_t message_id,
                                              const std::string& user, int status_rank,
                                              int64_t now_ms, ReceiptResult* result) {
  auto fail = [&](const PgResult& failed) {
    result->error = failed.error();
    return false;
  };
  PgResult begun = db.exec_repeatable("BEGIN");
  if (!begun.ok()) return fail(begun);
  PgResult locked = db.exec(kLockSequence);
  if (!locked.ok()) return fail(locked);
  if (locked.rows() != 1) {
    result->error = "relay_sequence has no row";
    return false;
  }
  int64_t last = locked.number(0, 0);
  PgResult found =
      db.exec("SELECT " RELAY_PG_MESSAGE_COLUMNS " FROM relay_messages WHERE id = $1::bigint",
              {PgParam::number(message_id)});
  if (!found.ok()) return fail(found);
  auto finish = [&](ReceiptOutcome outcome) {
    result->outcome = outcome;
    PgResult committed = db.exec("COMMIT");
    if (!committed.ok()) {
      db.reset();
      return fail(committed);
    }
    return true;
  };
  if (found.rows() == 0) return finish(ReceiptOutcome::kNotFound);
  Message message = read_message(found, 0);
  if (!message.to.empty() && user != message.to && user != message.user) {
    return finish(ReceiptOutcome::kNotFound);
  }
  if (user == message.user) return finish(ReceiptOutcome::kOwnMessage);

  Message& event = result->event;
  event.kind = EventKind::kReceipt;
  event.message_id = message_id;
  event.user = user;
  event.channel = message.channel;
  event.to = message.to.empty() ? std::string() : message.user;  // the reader is the recipient
  PgResult standing = db.exec(
      "SELECT status, event_id, updated_ms FROM relay_message_status WHERE message_id = "
      "$1::bigint AND reader = $2",
      {PgParam::number(message_id), PgParam::text(user)});
  if (!standing.ok()) return fail(standing);
  if (standing.rows() == 1 && standing.number(0, 0) >= status_rank) {
    event.status = status_name(static_cast<int>(standing.number(0, 0)));
    event.id = standing.number(0, 1);
    event.timestamp_ms = standing.number(0, 2);
    return finish(ReceiptOutcome::kUnchanged);
  }
  event.id = last + 1;
  event.status = status_name(status_rank);
  event.timestamp_ms = now_ms;
  PgResult written = db.exec(
      "WITH written AS (INSERT INTO relay_message_status (message_id, reader, status, event_id, "
      "updated_ms) VALUES ($1::bigint, $2, $3::smallint, $4::bigint, $5::bigint) ON CONFLICT "
      "(message_id, reader) DO UPDATE SET status = excluded.status, event_id = excluded.event_id, "
      "updated_ms = excluded.updated_ms RETURNING 1), moved AS (UPDATE relay_sequence SET last_id "
      "= $4::bigint WHERE singleton = 1 RETURNING 1) SELECT pg_notify('relay_events', '') FROM "
      "moved",
      {PgParam::number(message_id), PgParam::text(user), PgParam::number(status_rank),
       PgParam::number(event.id), PgParam::number(now_ms)});
  if (!written.ok()) return fail(written);
  return finish(ReceiptOutcome::kChanged);
}

StoreRead<std::vector<PostgresMessageStore::ChannelSummary>> PostgresMessageStore::channels() {
  using Read = StoreRead<std::vector<ChannelSummary>>;
  auto db = readers_.take();
  PgResult rows = db->exec_repeatable(
      "SELECT channel, COUNT(*), MAX(id), MAX(created_ms) FROM relay_messages WHERE recipient IS "
      "NULL GROUP BY channel ORDER BY MAX(id) DESC");
  if (!rows.ok()) return Read::failed(rows.error());
  std::vector<ChannelSummary> out;
  for (int row = 0; row < rows.rows(); ++row) {
    out.push_back(ChannelSummary{rows.text(row, 0), rows.number(row, 1), rows.number(row, 2),
                                 rows.number(row, 3)});
  }
  return Read::succeeded(std::move(out));
}

StoreRead<std::vector<Message>> PostgresMessageStore::load_after(int64_t after, size_t max_count,
                                                                 size_t max_bytes) {
  auto db = readers_.take();
  return run_log_query(*db, nullptr, after, max_count, max_bytes);
}

StoreRead<PostgresMessageStore::LogPage> PostgresMessageStore::log(const MessageFilter& filter,
                                                                   int64_t after, int limit) {
  using Read = StoreRead<LogPage>;
  auto db = readers_.take();
  // One snapshot for the page and the newest id.
  PgResult begun = db->exec_repeatable("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  if (!begun.ok()) return Read::failed(begun.error());
  auto events =
      run_log_query(*db, &filter, after, static_cast<size_t>(std::max(limit, 0)), SIZE_MAX);
  auto last = events.ok() ? read_number(*db, "SELECT last_id FROM relay_sequence", "relay_sequence")
                          : StoreRead<int64_t>::failed(events.error);
  if (!last.ok()) {
    abandon(*db);
    return Read::failed(last.error);
  }
  PgResult ended = db->exec("COMMIT");
  if (!ended.ok()) {
    db->reset();
    return Read::failed(ended.error());
  }
  return Read::succeeded(LogPage{std::move(*events), *last});
}

StoreRead<int64_t> PostgresMessageStore::forwarded_upto() {
  auto db = readers_.take();
  return read_number(*db, "SELECT forwarded_upto FROM relay_forward_state WHERE singleton = 1",
                     "relay_forward_state");
}

bool PostgresMessageStore::set_forwarded_upto(int64_t id) {
  auto db = readers_.take();
  return db
      ->exec_repeatable(
          "UPDATE relay_forward_state SET forwarded_upto = GREATEST(forwarded_upto, $1::bigint) "
          "WHERE singleton = 1",
          {PgParam::number(id)})
      .ok();
}

StoreRead<int64_t> PostgresMessageStore::last_id() {
  auto db = readers_.take();
  return read_number(*db, "SELECT last_id FROM relay_sequence WHERE singleton = 1",
                     "relay_sequence");
}

bool PostgresMessageStore::healthy() {
  return last_id().ok();
}

}  // namespace relay
