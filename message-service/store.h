#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "shared/message.h"
#include "shared/validation.h"

struct sqlite3;

namespace relay {

/// The durable message log: one SQLite database (WAL mode, synchronous=FULL) in a data directory.
/// A message is on disk before insert() returns. Ids strictly increase and become visible in id
/// order (inserts are serialised), which the forwarder relies on. Also keeps the forwarder's
/// cursor, so forwarding resumes where it stopped after a restart.
/// Thread-safe: all calls may come from any thread; they are serialised internally.
class MessageStore {
 public:
  /// Opens (creating if needed) `<data_dir>/messages.db`. Returns nullptr and sets `*error` when
  /// the directory or database cannot be opened.
  static std::unique_ptr<MessageStore> open(const std::string& data_dir, std::string* error);
  ~MessageStore();
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  enum class InsertOutcome {
    kCreated,   // stored now
    kReplayed,  // the idempotency key was used before with the same message: the original
    kConflict,  // the idempotency key was used before with a different message
    kFailed,    // the database refused the write; nothing was stored
  };
  struct InsertResult {
    InsertOutcome outcome = InsertOutcome::kFailed;
    Message message;
    std::string error;
  };

  /// Stores a message, stamping id and time. With a non-empty `idempotency_key`, a retry of the
  /// same draft returns the original message instead of storing it again.
  InsertResult insert(const MessageDraft& draft, const std::string& idempotency_key);

  std::optional<Message> get(int64_t id);

  /// Messages visible through `filter`, ascending by id: those after `after` (the first `limit`),
  /// or without `after` the newest `limit`.
  std::vector<Message> list(const MessageFilter& filter, std::optional<int64_t> after, int limit);

  /// Every message after `after`, ascending, at most `max_count` and about `max_bytes` of content
  /// (always at least one when any exists). For the forwarder.
  std::vector<Message> load_after(int64_t after, size_t max_count, size_t max_bytes);

  /// The id up to which messages were handed to notify-service (0 at first).
  int64_t forwarded_upto();
  /// Durably records the forwarder's progress. Returns false if the write failed.
  bool set_forwarded_upto(int64_t id);

  /// The highest id stored (0 when empty).
  int64_t last_id();

  /// True when the database answers a trivial query.
  bool healthy();

 private:
  explicit MessageStore(sqlite3* db);

  std::mutex mutex_;
  sqlite3* db_;  // guarded by mutex_
};

}  // namespace relay
