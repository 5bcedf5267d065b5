#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "message-service/config.h"
#include "message-service/store_read.h"

namespace relay {

/// The accounts of AUTH_MODE=accounts: users (a name and an Argon2id hash, never the password)
/// and their sessions. A session is what a login starts and a logout ends; access tokens name it,
/// so ending it ends them. Every answered change is durable before it returns. Two engines:
/// - open(): `<data_dir>/accounts.db` (SQLite, WAL, synchronous=FULL), one instance's own;
/// - open_postgres(): tables relay_users and relay_sessions in the shared DATABASE_URL, so every
///   message-service instance sees every account and session. A change that ends sessions
///   notifies kChangedChannel in its transaction, so the other instances learn of it at once
///   (AccountsWatch).
///
/// Threads: any. Every method blocks on the database: call from a worker, never from an event
/// loop.
class AccountStore {
 public:
  /// Opens (creating if needed) the SQLite database. nullptr with `*error` set when it cannot.
  static std::unique_ptr<AccountStore> open(const std::string& data_dir, std::string* error);
  /// Connects to PostgreSQL and creates the tables if needed. nullptr with `*error` set when it
  /// cannot.
  static std::unique_ptr<AccountStore> open_postgres(const std::string& url, std::string* error);
  /// The store `config` names: open_postgres() with STORE=postgres, else open().
  static std::unique_ptr<AccountStore> open_for(const MessageServiceConfig& config,
                                                std::string* error) {
    return config.postgres ? open_postgres(config.database_url, error)
                           : open(config.data_dir, error);
  }
  /// The PostgreSQL notification channel of account and channel-directory changes.
  static constexpr const char* kChangedChannel = "relay_accounts";

  AccountStore() = default;
  virtual ~AccountStore() = default;
  AccountStore(const AccountStore&) = delete;
  AccountStore& operator=(const AccountStore&) = delete;

  enum class CreateOutcome { kCreated, kTaken, kFailed };
  /// Adds a user; kTaken when the name exists already (names compare exactly).
  virtual CreateOutcome create_user(const std::string& name, const std::string& password_hash,
                                    int64_t now_ms, std::string* error) = 0;
  /// The user's password hash; nullopt inside when there is no such user.
  virtual StoreRead<std::optional<std::string>> password_hash(const std::string& name) = 0;
  /// Removes a user and ends every session of theirs. True inside when the user existed.
  virtual StoreRead<bool> remove_user(const std::string& name, int64_t now_ms) = 0;

  struct Session {
    std::string id;  // 256 random bits, hex
    std::string user;
    int64_t expires_ms = 0;
  };
  /// Starts a session for `user` lasting `ttl_ms`.
  virtual StoreRead<Session> create_session(const std::string& user, int64_t now_ms,
                                            int64_t ttl_ms) = 0;
  /// The session `id` if it exists, has not ended and has not expired at `now_ms`.
  virtual StoreRead<std::optional<Session>> live_session(const std::string& id, int64_t now_ms) = 0;
  /// Ends a session (a logout). True inside when it was live.
  virtual StoreRead<bool> end_session(const std::string& id, int64_t now_ms) = 0;
  /// The ids of sessions ended at or after `since_ms`: their access tokens may not have expired.
  virtual StoreRead<std::vector<std::string>> ended_since(int64_t since_ms) = 0;
};

}  // namespace relay
