#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "message-service/group_commit.h"
#include "shared/message.h"
#include "shared/validation.h"

struct sqlite3;

namespace relay {

/// The durable message log: one SQLite database (WAL mode, synchronous=FULL) in a data directory.
/// A message is on disk before insert() returns. Concurrent inserts share one transaction and one
/// fsync (group commit), so throughput grows with the number of callers while each caller still
/// returns only after its own message was committed. Ids strictly increase and become visible in
/// id order (groups are committed one at a time, ids given in queue order), which the forwarder
/// relies on. Also keeps the forwarder's cursor, so forwarding resumes where it stopped after a
/// restart. Thread-safe: all calls may come from any thread; they are serialised internally.
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

  /// Stores a message, stamping id and time, and returns once the transaction holding it was
  /// committed (kCreated), or rolled back (kFailed: then nothing of that transaction was stored,
  /// for any caller in it). With a non-empty `idempotency_key`, a retry of the same draft returns
  /// the original message instead of storing it again, also when both are in the same transaction.
  /// Blocks; may commit other callers' inserts on this thread.
  InsertResult insert(const MessageDraft& draft, const std::string& idempotency_key);

  /// How group commit of inserts is doing: groups committed (transactions, one fsync each; messages
  /// stored per group tell how well it works), inserts waiting, whether a group is being written.
  GroupCommitStats insert_stats() const { return group_commit_.stats(); }

  std::optional<Message> get(int64_t id);

  /// Messages visible through `filter`, ascending by id: those after `after` (the first `limit`),
  /// or without `after` the newest `limit`. With a non-empty `with`, only the direct messages
  /// between `filter.user` and `with`.
  std::vector<Message> list(const MessageFilter& filter, std::optional<int64_t> after, int limit,
                            const std::string& with = {});

  /// One reader's latest acknowledgement of a message.
  struct Receipt {
    std::string user;
    std::string status;  // "delivered" | "read"
    int64_t timestamp_ms = 0;
  };
  /// The receipts of each of `message_ids` that has any, oldest first.
  std::map<int64_t, std::vector<Receipt>> receipts_for(const std::vector<int64_t>& message_ids);

  enum class ReceiptOutcome {
    kChanged,     // the status moved forward: stored, with a new event id
    kUnchanged,   // already at or past that status: nothing written
    kNotFound,    // no such message, or a direct message `user` is not a party of
    kOwnMessage,  // `user` sent the message
    kFailed,      // the database refused the write; nothing was stored
  };
  struct ReceiptResult {
    ReceiptOutcome outcome = ReceiptOutcome::kFailed;
    /// The receipt event as stored (kChanged: the new one; kUnchanged: the standing one), with
    /// the message's channel and, for a DM, the other party in `to`, so it reaches whoever may see
    /// the message.
    Message event;
    std::string error;
  };
  /// Records that `user` got (`status` "delivered") or read ("read") message `message_id`.
  /// Status only moves forward (none -> delivered -> read); each forward move is committed
  /// durably before this returns and takes the next id of the message sequence, so the forwarder
  /// and resumes see it in order with the messages. Blocks.
  ReceiptResult record_receipt(int64_t message_id, const std::string& user,
                               const std::string& status);

  /// A channel that has messages: how many, and its newest one.
  struct ChannelSummary {
    std::string name;
    int64_t messages = 0;
    int64_t last_message_id = 0;
    int64_t last_activity_ms = 0;  // unix ms of its newest message
  };
  /// Every channel with at least one message (direct messages excluded), most recently active
  /// first. Counts with one pass over the channel index.
  std::vector<ChannelSummary> channels();

  /// Every event (messages and receipts) after `after`, ascending, at most `max_count` and about
  /// `max_bytes` of content (always at least one when any exists). For the forwarder.
  std::vector<Message> load_after(int64_t after, size_t max_count, size_t max_bytes);

  /// The events (messages and receipts) visible through `filter` after `after`, ascending, at
  /// most `limit`: the log a resuming stream replays.
  std::vector<Message> log(const MessageFilter& filter, int64_t after, int limit);

  /// The id up to which messages were handed to notify-service (0 at first).
  int64_t forwarded_upto();
  /// Durably records the forwarder's progress. Returns false if the write failed.
  bool set_forwarded_upto(int64_t id);

  /// The highest id of the event sequence so far (0 when empty).
  int64_t last_id();

  /// True when the database answers a trivial query.
  bool healthy();

 private:
  /// One insert() call waiting for its group's commit; `result` is written by write_group().
  struct PendingInsert {
    const MessageDraft& draft;
    const std::string& idempotency_key;
    InsertResult result;
  };

  explicit MessageStore(sqlite3* db);
  /// Writes `group` in one transaction and sets every item's result: all stored, or all kFailed.
  void write_group(const std::vector<PendingInsert*>& group);
  bool try_write_group(const std::vector<PendingInsert*>& group, std::string* error);
  bool try_record_receipt(int64_t message_id, const std::string& user, int status_rank,
                          ReceiptResult* result);
  /// Events after `after` in id order; with `filter`, only those it lets through. Needs mutex_.
  std::vector<Message> query_log_locked(const MessageFilter* filter, int64_t after, size_t limit,
                                        size_t max_bytes);

  std::mutex mutex_;
  sqlite3* db_;  // guarded by mutex_
  GroupCommit<PendingInsert> group_commit_;
};

}  // namespace relay
