#pragma once

#include <cstdint>
#include <string>

#include <sqlite3.h>

namespace relay {

/// Small owners of SQLite statements for the stores of message-service. Not thread-safe: used
/// under the owning store's lock, like the connection they were prepared on.

/// Owns one prepared statement; binds by 1-based index.
class Statement {
 public:
  Statement(sqlite3* db, const std::string& sql) {
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt_, nullptr) != SQLITE_OK) stmt_ = nullptr;
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return stmt_ != nullptr; }
  /// Makes the statement ready to run again (and ends its read); bindings stay until replaced.
  void reset() { sqlite3_reset(stmt_); }
  void bind(int index, int64_t value) { sqlite3_bind_int64(stmt_, index, value); }
  /// Binds a copy of `value`.
  void bind(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_TRANSIENT);
  }
  /// Binds `value` without copying: it must stay unchanged until the statement is reset.
  void bind_borrowed(int index, const std::string& value) {
    sqlite3_bind_text(stmt_, index, value.data(), static_cast<int>(value.size()), SQLITE_STATIC);
  }
  void bind_null(int index) { sqlite3_bind_null(stmt_, index); }
  /// SQLITE_ROW, SQLITE_DONE or an error code (SQLITE_MISUSE when the statement did not prepare).
  int step() { return stmt_ ? sqlite3_step(stmt_) : SQLITE_MISUSE; }
  int64_t int64_at(int column) { return sqlite3_column_int64(stmt_, column); }
  std::string text_at(int column) {
    const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt_, column));
    return text == nullptr ? std::string() : std::string(text, sqlite3_column_bytes(stmt_, column));
  }

 private:
  sqlite3_stmt* stmt_ = nullptr;
};

/// Resets a statement when the scope using it ends, so no cached statement is left mid-read
/// (holding a read transaction open) whichever way the scope is left.
class ResetOnExit {
 public:
  explicit ResetOnExit(Statement& statement) : statement_(statement) {}
  ~ResetOnExit() { statement_.reset(); }
  ResetOnExit(const ResetOnExit&) = delete;
  ResetOnExit& operator=(const ResetOnExit&) = delete;

 private:
  Statement& statement_;
};

/// Runs a statement that returns no rows; true when it completed.
inline bool run(Statement& statement) {
  ResetOnExit reset(statement);
  return statement.step() == SQLITE_DONE;
}

/// Opens (creating if needed) `<data_dir>/<file_name>` for a store: the directory is created,
/// the connection is NOMUTEX (its owner serialises every use), waits up to 5 s for a lock, and is
/// in WAL mode with synchronous=FULL, so every commit is fsynced before it returns and survives a
/// crash of the process and of the machine; then `schema` is run. Sets `*path`. Returns nullptr
/// with `*error` set when any step fails.
sqlite3* open_database(const std::string& data_dir, const char* file_name, const char* schema,
                       std::string* path, std::string* error);

/// Runs SQL text without results (schema, pragmas); true when it succeeded.
inline bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

}  // namespace relay
