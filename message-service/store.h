#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "message-service/group_commit.h"
#include "message-service/store_read.h"
#include "shared/message.h"
#include "shared/validation.h"

struct sqlite3;

namespace relay {

/// The durable message log: one SQLite database (WAL mode, synchronous=FULL) in a data directory.
/// Inserts are queued and committed by the store's own commit thread: it takes everything queued
/// (up to a maximum group) into one transaction, so one fsync serves all of them, and only after
/// that commit answers each insert, in queue order. Ids strictly increase and become visible in id
/// order (one transaction at a time holds the database, ids given in queue order; receipts take
/// the next id of the same sequence), which the forwarder relies on. Also keeps the forwarder's
/// cursor, so forwarding resumes where it stopped after a restart.
///
/// Threads: every method may be called from any thread (the database handle is guarded by one
/// mutex, and everything on it is serialised). insert_async() never blocks on the database; reads,
/// insert() and record_receipt() block, and are meant for a worker thread, never an event loop.
/// The `done` callbacks of insert_async() run on the commit thread.
class MessageStore {
 public:
  /// Opens (creating if needed) `<data_dir>/messages.db` and starts the commit thread. Returns
  /// nullptr and sets `*error` when the directory or database cannot be opened.
  static std::unique_ptr<MessageStore> open(const std::string& data_dir, std::string* error);
  /// stop(), then closes the database. Whatever `done` callbacks touch must outlive the store.
  ~MessageStore();
  MessageStore(const MessageStore&) = delete;
  MessageStore& operator=(const MessageStore&) = delete;

  enum class InsertOutcome {
    kCreated,   // stored now
    kReplayed,  // the idempotency key was used before with the same message: the original
    kConflict,  // the idempotency key was used before with a different message
    kFailed,    // the database refused the write (or the store is closing); nothing was stored
  };
  struct InsertResult {
    InsertOutcome outcome = InsertOutcome::kFailed;
    Message message;
    std::string error;
  };

  /// Queues a message for storing and returns at once. `done` is called exactly once, on the
  /// store's commit thread, after the transaction holding the message was committed and fsynced
  /// (kCreated with id and time stamped, kReplayed, kConflict) or rolled back (kFailed: then
  /// nothing of that transaction was stored, for any insert in it). Callbacks run in queue order,
  /// one group after another, so `done` must be quick (hand the result to another thread); it may
  /// call insert_async() but not insert() or stop(). With a non-empty `idempotency_key`, a retry of
  /// the same draft gets the original message instead of storing it again, also when both are in
  /// the same transaction. After stop() began, `done` runs at once on the calling thread with
  /// kFailed "store closing".
  void insert_async(MessageDraft draft, std::string idempotency_key,
                    std::function<void(InsertResult)> done);

  /// insert_async() and wait for its answer. Blocks; not from a `done` callback (it answers kFailed
  /// there rather than wait for itself).
  InsertResult insert(MessageDraft draft, std::string idempotency_key);

  /// Commits and answers every queued insert, then joins the commit thread; later inserts answer
  /// kFailed. Idempotent; not from a `done` callback.
  void stop();

  /// How group commit of inserts is doing: groups committed (transactions, one fsync each; messages
  /// stored per group tell how well it works), inserts waiting, whether a group is being written.
  GroupCommitStats insert_stats() const { return committer_->stats(); }

  /// The message `id`, or nullopt inside when there is none.
  StoreRead<std::optional<Message>> get(int64_t id);

  /// Messages visible through `filter`, ascending by id: those after `after` (the first `limit`),
  /// or without `after` the newest `limit`. With a non-empty `with`, only the direct messages
  /// between `filter.user` and `with`.
  StoreRead<std::vector<Message>> list(const MessageFilter& filter, std::optional<int64_t> after,
                                       int limit, const std::string& with = {});

  /// One reader's latest acknowledgement of a message.
  struct Receipt {
    std::string user;
    std::string status;  // "delivered" | "read"
    int64_t timestamp_ms = 0;
  };
  /// The receipts of each of `message_ids` that has any, oldest first.
  StoreRead<std::map<int64_t, std::vector<Receipt>>> receipts_for(
      const std::vector<int64_t>& message_ids);

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
  /// durably before this returns and takes the next id of the message sequence (under the same
  /// mutex as the insert groups, so ids stay strictly increasing and visible in id order, and the
  /// forwarder and resumes see it in order with the messages). Blocks.
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
  StoreRead<std::vector<ChannelSummary>> channels();

  /// Every event (messages and receipts) after `after`, ascending, at most `max_count` and about
  /// `max_bytes` of content (always at least one when any exists). For the forwarder.
  StoreRead<std::vector<Message>> load_after(int64_t after, size_t max_count, size_t max_bytes);

  /// A page of the log and how far the whole log reaches, read in one transaction.
  struct LogPage {
    std::vector<Message> events;
    int64_t last_id = 0;  // the newest id of the event sequence (as last_id()), >= every event's
  };
  /// The events (messages and receipts) visible through `filter` after `after`, ascending, at
  /// most `limit`: the log a resuming stream replays; with the store's newest id, so a reader can
  /// tell a cursor ahead of the store.
  StoreRead<LogPage> log(const MessageFilter& filter, int64_t after, int limit);

  /// The id up to which messages were handed to notify-service (0 at first).
  StoreRead<int64_t> forwarded_upto();
  /// Durably records the forwarder's progress. Returns false if the write failed.
  bool set_forwarded_upto(int64_t id);

  /// The highest id of the event sequence so far (0 when empty).
  StoreRead<int64_t> last_id();

  /// True when the database answers a read (that of last_id()).
  bool healthy();

 private:
  /// One insert_async() call on its way through the commit thread.
  struct PendingInsert {
    MessageDraft draft;
    std::string idempotency_key;
    std::function<void(InsertResult)> done;
    InsertResult result;  // written by write_group()
  };
  struct Statements;  // the prepared statements, defined in store.cc

  MessageStore(sqlite3* db, std::unique_ptr<Statements> statements);
  /// Writes `group` in one transaction and sets every item's result: all stored, or all kFailed.
  /// On the commit thread.
  void write_group(std::span<PendingInsert> group);
  bool try_write_group(std::span<PendingInsert> group, int64_t now_ms, std::string* error);
  bool try_record_receipt(int64_t message_id, const std::string& user, int status_rank,
                          int64_t now_ms, ReceiptResult* result);
  /// Events after `after` in id order; with `filter`, only those it lets through. Needs mutex_.
  StoreRead<std::vector<Message>> query_log_locked(const MessageFilter* filter, int64_t after,
                                                   size_t limit, size_t max_bytes);
  StoreRead<int64_t> last_id_locked();

  std::mutex mutex_;
  sqlite3* db_;                             // guarded by mutex_
  std::unique_ptr<Statements> statements_;  // guarded by mutex_
  // Last: started after everything it uses exists, stopped before it goes.
  std::unique_ptr<GroupCommitter<PendingInsert>> committer_;
};

}  // namespace relay
