#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "message-service/group_commit.h"
#include "message-service/store_read.h"
#include "shared/message.h"
#include "shared/validation.h"

namespace relay {

/// The durable message log, as every part of message-service sees it: messages and read receipts
/// in one id sequence, the idempotency keys of posts, and the forwarder's cursor. Two engines hold
/// it: SqliteMessageStore (one file, one process: the default) and PostgresMessageStore (shared by
/// several message-service instances). Both promise the same:
/// - Inserts are group-committed: insert_async() queues, the store's commit thread writes
///   everything queued (up to a maximum group) in one transaction, so one fsync serves all of
///   them, and only after that commit answers each insert, in queue order.
/// - Ids strictly increase and become visible in id order: a reader that saw id N has seen every
///   id below N that will ever exist, whichever instance stored it. The forwarder and every
///   `after=` reader rely on that. Receipts take the next id of the same sequence.
/// - A group is all or nothing; a failed read is an error (StoreRead), never an empty result.
///
/// Threads: every method may be called from any thread. insert_async() never blocks on the
/// database; reads, insert() and record_receipt() block, and are meant for a worker thread,
/// never an event loop. The `done` callbacks of insert_async() run on the commit thread.
class MessageStore {
 public:
  /// Callers stop() first (a subclass's destructor does, before its connection goes).
  virtual ~MessageStore();
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
  GroupCommitStats insert_stats() const;

  /// The message `id`, or nullopt inside when there is none.
  virtual StoreRead<std::optional<Message>> get(int64_t id) = 0;

  /// Messages visible through `filter`, ascending by id: those after `after` (the first `limit`),
  /// or without `after` the newest `limit`. With a non-empty `with`, only the direct messages
  /// between `filter.user` and `with`.
  virtual StoreRead<std::vector<Message>> list(const MessageFilter& filter,
                                               std::optional<int64_t> after, int limit,
                                               const std::string& with = {}) = 0;

  /// One reader's latest acknowledgement of a message.
  struct Receipt {
    std::string user;
    std::string status;  // "delivered" | "read"
    int64_t timestamp_ms = 0;
  };
  /// The receipts of each of `message_ids` that has any, oldest first.
  virtual StoreRead<std::map<int64_t, std::vector<Receipt>>> receipts_for(
      const std::vector<int64_t>& message_ids) = 0;

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
  /// durably before this returns and takes the next id of the message sequence (serialised with
  /// the insert groups, so ids stay strictly increasing and visible in id order, and the
  /// forwarder and resumes see it in order with the messages). Blocks.
  virtual ReceiptResult record_receipt(int64_t message_id, const std::string& user,
                                       const std::string& status) = 0;

  /// A channel that has messages: how many, and its newest one.
  struct ChannelSummary {
    std::string name;
    int64_t messages = 0;
    int64_t last_message_id = 0;
    int64_t last_activity_ms = 0;  // unix ms of its newest message
  };
  /// Every channel with at least one message (direct messages excluded), most recently active
  /// first. Counts with one pass over the channel index.
  virtual StoreRead<std::vector<ChannelSummary>> channels() = 0;

  /// Every event (messages and receipts) after `after`, ascending, at most `max_count` and about
  /// `max_bytes` of content (always at least one when any exists). For the forwarder.
  virtual StoreRead<std::vector<Message>> load_after(int64_t after, size_t max_count,
                                                     size_t max_bytes) = 0;

  /// A page of the log and how far the whole log reaches, read in one transaction.
  struct LogPage {
    std::vector<Message> events;
    int64_t last_id = 0;  // the newest id of the event sequence (as last_id()), >= every event's
  };
  /// The events (messages and receipts) visible through `filter` after `after`, ascending, at
  /// most `limit`: the log a resuming stream replays; with the store's newest id, so a reader can
  /// tell a cursor ahead of the store.
  virtual StoreRead<LogPage> log(const MessageFilter& filter, int64_t after, int limit) = 0;

  /// The id up to which messages were handed to notify-service (0 at first).
  virtual StoreRead<int64_t> forwarded_upto() = 0;
  /// Durably records the forwarder's progress; the stored cursor never moves back (a forwarder
  /// that lost its lease late cannot undo another's). Returns false if the write failed.
  virtual bool set_forwarded_upto(int64_t id) = 0;

  /// The highest id of the event sequence so far (0 when empty).
  virtual StoreRead<int64_t> last_id() = 0;

  /// True when the database answers a read (that of last_id()).
  virtual bool healthy() = 0;
  /// "sqlite" or "postgres", for /health and logs.
  virtual const char* engine() const = 0;

 protected:
  /// One insert_async() call on its way through the commit thread.
  struct PendingInsert {
    MessageDraft draft;
    std::string idempotency_key;
    std::function<void(InsertResult)> done;
    InsertResult result;  // written by write_group()
  };
  /// The most inserts one transaction takes: bounds the transaction's size (and the wait of the
  /// last insert in it); inserts beyond it form the next group. Measured with
  /// bench/store/store_bench: 64 submitters never fill it; at 1,024 submitters groups of 512 and
  /// 1,024 commit at the same rate per message, so larger groups only lengthen the wait of the
  /// first insert in them.
  static constexpr size_t kMaxInsertGroup = 512;

  MessageStore() = default;
  /// Starts the commit thread: the last step of a subclass's construction.
  void start_committing();
  /// Writes `group` in one transaction and sets every item's result: all stored, or all kFailed
  /// with the reason. On the commit thread only.
  virtual void write_group(std::span<PendingInsert> group) = 0;

 private:
  std::unique_ptr<GroupCommitter<PendingInsert>> committer_;
};

}  // namespace relay
