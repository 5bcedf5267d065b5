#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "message-service/store_read.h"

struct sqlite3;

namespace relay {

/// The accounts of AUTH_MODE=accounts: users (a name and an Argon2id hash, never the password)
/// and their sessions, in `<data_dir>/accounts.db` (SQLite, WAL, synchronous=FULL: a registration
/// or a logout that was answered survives a crash). A session is what a login starts and a logout
/// ends; access tokens name it, so ending it ends them.
///
/// Threads: any; one mutex serialises the database. Every method blocks on it: call from a worker,
/// never from an event loop.
class AccountStore {
 public:
  /// Opens (creating if needed) the database. nullptr with `*error` set when it cannot.
  static std::unique_ptr<AccountStore> open(const std::string& data_dir, std::string* error);
  ~AccountStore();
  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;

  enum class CreateOutcome { kCreated, kTaken, kFailed };
  /// Adds a user; kTaken when the name exists already (names compare exactly).
  CreateOutcome create_user(const std::string& name, const std::string& password_hash,
                            int64_t now_ms, std::string* error);
  /// The user's password hash; nullopt inside when there is no such user.
  StoreRead<std::optional<std::string>> password_hash(const std::string& name);
  /// Removes a user and ends every session of theirs. True inside when the user existed.
  StoreRead<bool> remove_user(const std::string& name, int64_t now_ms);

  struct Session {
    std::string id;  // 256 random bits, hex
    std::string user;
    int64_t expires_ms = 0;
  };
  /// Starts a session for `user` lasting `ttl_ms`.
  StoreRead<Session> create_session(const std::string& user, int64_t now_ms, int64_t ttl_ms);
  /// The session `id` if it exists, has not ended and has not expired at `now_ms`.
  StoreRead<std::optional<Session>> live_session(const std::string& id, int64_t now_ms);
  /// Ends a session (a logout). True inside when it was live.
  StoreRead<bool> end_session(const std::string& id, int64_t now_ms);
  /// The ids of sessions ended at or after `since_ms`: their access tokens may not have expired.
  StoreRead<std::vector<std::string>> ended_since(int64_t since_ms);

 private:
  explicit AccountStore(sqlite3* db) : db_(db) {}

  std::mutex mutex_;
  sqlite3* db_;  // guarded by mutex_
};

}  // namespace relay
