#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

struct pg_conn;
struct pg_result;

namespace relay {

/// One parameter of a PostgreSQL statement: text (NULL when unset), or raw bytes sent in binary
/// format (for a bytea column, so content may hold any byte, NUL included).
struct PgParam {
  std::optional<std::string> value;
  bool binary = false;

  static PgParam text(std::string value) { return PgParam{std::move(value), false}; }
  static PgParam number(int64_t value) { return PgParam{std::to_string(value), false}; }
  static PgParam bytes(std::string value) { return PgParam{std::move(value), true}; }
  static PgParam null() { return PgParam{}; }
};

/// What a statement gave: its rows as text, or why it failed. Owns the libpq result.
class PgResult {
 public:
  PgResult() = default;
  explicit PgResult(pg_result* result, std::string error);
  bool ok() const { return error_.empty(); }
  const std::string& error() const { return error_; }
  int rows() const;
  bool is_null(int row, int column) const;
  std::string text(int row, int column) const;
  int64_t number(int row, int column) const;
  /// A bytea column in PostgreSQL's hex output (`\x...`), decoded.
  std::string bytes(int row, int column) const;
  /// The SQLSTATE of a failure ("" when none was given, e.g. the connection broke).
  std::string sqlstate() const;

 private:
  struct Clear {
    void operator()(pg_result* result) const;
  };
  std::unique_ptr<pg_result, Clear> result_;
  std::string error_;
};

/// One libpq connection to DATABASE_URL, (re)connected on demand: after a failed connect, new
/// attempts wait `kRetryAfter`, so that while PostgreSQL is down every caller fails fast instead
/// of waiting on a connect timeout each. Not thread-safe: one user at a time (PgPool hands each to
/// one thread).
class PgConnection {
 public:
  explicit PgConnection(std::string url);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  static constexpr std::chrono::milliseconds kRetryAfter{250};

  /// Connected, connecting now if it was not (or the connection broke); else false with why.
  bool ensure(std::string* error);
  /// Runs one statement with `params` ($1, $2, ...), connecting first if needed. A failure
  /// (refused statement, broken connection) is in the result.
  PgResult exec(const std::string& sql, const std::vector<PgParam>& params = {});
  /// exec() of a statement that may safely run twice (a read, a BEGIN, an idempotent write),
  /// outside a transaction: when it fails because the connection turned out broken (PostgreSQL
  /// restarted since its last use), it reconnects and runs it once more, so the first call after
  /// a restart does not fail for nothing. Never for a statement whose session matters (the
  /// forwarding lease's lock lives in its session).
  PgResult exec_repeatable(const std::string& sql, const std::vector<PgParam>& params = {});
  /// Runs SQL text without parameters (may hold several statements; the last one's result).
  PgResult exec_script(const std::string& sql);
  /// Drops the connection (the next use reconnects): after a failure that left it unusable.
  void reset();
  /// The libpq connection, for LISTEN and socket waits (ForwardingLease); nullptr if not
  /// connected.
  pg_conn* raw() { return conn_; }

 private:
  std::string url_;
  pg_conn* conn_ = nullptr;
  std::chrono::steady_clock::time_point failed_at_{};
  std::string last_error_;
};

/// A fixed set of connections lent to one thread at a time: reads on worker threads each take
/// one for the length of a read. Thread-safe.
class PgPool {
 public:
  PgPool(const std::string& url, size_t size);

  /// A connection lent until destruction.
  class Lease {
   public:
    Lease(PgPool& pool, std::unique_ptr<PgConnection> connection)
        : pool_(pool), connection_(std::move(connection)) {}
    ~Lease() { pool_.give_back(std::move(connection_)); }
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    PgConnection* operator->() { return connection_.get(); }
    PgConnection& operator*() { return *connection_; }

   private:
    PgPool& pool_;
    std::unique_ptr<PgConnection> connection_;
  };
  /// Waits until a connection is free and lends it.
  Lease take();

 private:
  void give_back(std::unique_ptr<PgConnection> connection);

  std::mutex mutex_;
  std::condition_variable freed_;
  std::vector<std::unique_ptr<PgConnection>> idle_;  // guarded by mutex_
};

/// `sql` with `$1` ... numbered on from `first`: "($1, $2), ($3, $4)" for rows of `columns`.
std::string pg_value_rows(size_t rows, size_t columns, int first = 1);

/// Runs `schema` (SQL text, its own transaction) on a fresh connection to `url`; false with
/// `*error` ("cannot prepare <what> at <url>: ...") when it fails.
bool pg_prepare_schema(const std::string& url, const char* schema, const char* what,
                       std::string* error);

/// DATABASE_URL without its password, for logs.
std::string pg_url_for_display(std::string_view url);

}  // namespace relay
