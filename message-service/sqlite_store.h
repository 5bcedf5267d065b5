#pragma once

#include <memory>
#include <mutex>
#include <string>

#include "message-service/store.h"

struct sqlite3;

namespace relay {

/// The message log in one SQLite database (WAL mode, synchronous=FULL) in a data directory: the
/// default, for one message-service process. One transaction at a time holds the database and
/// ids are given in queue order, so ids become visible in id order; receipts raise the same
/// AUTOINCREMENT sequence. The database handle is guarded by one mutex: everything on it is
/// serialised.
class SqliteMessageStore final : public MessageStore {
 public:
  /// Opens (creating if needed) `<data_dir>/messages.db` and starts the commit thread. Returns
  /// nullptr and sets `*error` when the directory or database cannot be opened.
  static std::unique_ptr<MessageStore> open(const std::string& data_dir, std::string* error);
  /// stop(), then closes the database. Whatever `done` callbacks touch must outlive the store.
  ~SqliteMessageStore() override;

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
  const char* engine() const override { return "sqlite"; }

 private:
  struct Statements;  // the prepared statements, defined in sqlite_store.cc

  SqliteMessageStore(sqlite3* db, std::unique_ptr<Statements> statements);
  void write_group(std::span<PendingInsert> group) override;
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
};

}  // namespace relay
