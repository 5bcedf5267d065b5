#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "message-service/pg_connection.h"
#include "message-service/store.h"

namespace relay {

/// The message log in a PostgreSQL database (STORE=postgres, DATABASE_URL) that several
/// message-service instances share; its tables are named relay_*, created on first start.
///
/// Id order is commit order, across instances: every transaction that takes ids (an insert group,
/// a receipt) first locks the one row of relay_sequence (SELECT ... FOR UPDATE), takes the next
/// ids from it and writes the raised value back before it commits. A second writer waits on that
/// row until the first committed, then reads the raised value, so ids are handed out in the
/// order transactions commit: a sequence value taken early can never commit late, and a reader
/// who saw id N can never be shown an id below N afterwards. The lock is held for the few
/// statements of one group, not per message. Each committed transaction that took ids also sends
/// NOTIFY relay_events, which the forwarding instance LISTENs to (ForwardingLease).
///
/// Connections: one for the commit thread, a small pool for reads and receipts (blocking calls,
/// from the HTTP workers). A broken connection is reopened on its next use; while PostgreSQL is
/// down, every call fails at once with its reason (StoreRead errors, kFailed inserts), and works
/// again by itself when it is back. A group whose COMMIT got no answer is reported kFailed,
/// though it may have committed: the client's retry with its Idempotency-Key then finds it.
class PostgresMessageStore final : public MessageStore {
 public:
  /// Connects, creates the tables if missing (under an advisory lock, so instances starting
  /// together do not race) and starts the commit thread. nullptr with `*error` when it cannot.
  static std::unique_ptr<MessageStore> open(const std::string& url, std::string* error);
  ~PostgresMessageStore() override;

  StoreRead<std::optional<Message>> get(int64_t id) override;
  StoreRead<std::vector<Message>> list(const MessageFilter& filter, std::optional<int64_t> after,
                                       int limit, const std::string& with = {}) override;
  StoreRead<std::map<int64_t, std::vector<Receipt>>> receipts_for(
      const std::vector<int64_t>& message_ids) override;
  ReceiptResult record_receipt(int64_t message_id, const std::string& user,
                               const std::string& status) override;
  StoreRead<std::vector<ChannelSummary>> channels() override;
  StoreRead<std::vector<Message>> load_after(int64_t after, size_t max_count,
                                             size_t max_bytes) override;
  StoreRead<LogPage> log(const MessageFilter& filter, int64_t after, int limit) override;
  StoreRead<int64_t> forwarded_upto() override;
  bool set_forwarded_upto(int64_t id) override;
  StoreRead<int64_t> last_id() override;
  bool healthy() override;
  const char* engine() const override { return "postgres"; }

  /// Connections lent to the readers: about the HTTP worker pool's size.
  static constexpr size_t kReadConnections = 4;

 private:
  explicit PostgresMessageStore(const std::string& url);
  void write_group(std::span<PendingInsert> group) override;
  bool try_write_group(std::span<PendingInsert> group, int64_t now_ms, std::string* error);
  bool try_record_receipt(PgConnection& db, int64_t message_id, const std::string& user,
                          int status_rank, int64_t now_ms, ReceiptResult* result);

  PgConnection writer_;  // the commit thread's only
  PgPool readers_;
};

}  // namespace relay
