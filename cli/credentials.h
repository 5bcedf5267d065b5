#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace relay::cli {

/// What `relay login` keeps for AUTH_MODE=accounts: who signed in where, the access token, and
/// the session that renews it. Kept in credentials_path() as JSON, mode 0600 in a 0700 directory.
struct Credentials {
  std::string message_url;  // the message-service signed in to; used only against it
  std::string user;
  std::string access_token;
  std::string session;       // the relay_session cookie's value
  int64_t expires_at_s = 0;  // the access token's expiry, Unix seconds
};

/// $XDG_CONFIG_HOME/relay/credentials.json, else $HOME/.config/relay/credentials.json; "" when
/// neither variable is set.
std::string credentials_path();

/// The credentials in `path`; nullopt when there are none (or the file is not ours).
std::optional<Credentials> load_credentials(const std::string& path);
/// Writes them (creating the directory 0700); the file is replaced atomically and is 0600 from
/// its first byte. False with `*error` set when it cannot.
bool save_credentials(const std::string& path, const Credentials& credentials, std::string* error);
/// Removes the file; true when there was one.
bool remove_credentials(const std::string& path);

/// The value of cookie `name` among Set-Cookie header values, or "".
std::string cookie_from_set_cookies(const std::vector<std::string>& set_cookies,
                                    const std::string& name);

/// Hands out a current access token for requests, renewing it from the session (POST
/// /auth/token) when it expires within a minute, and saving what it renewed. Thread-safe: the
/// listener's threads ask it too.
class CredentialKeeper {
 public:
  CredentialKeeper(std::string path, Credentials credentials)
      : path_(std::move(path)), credentials_(std::move(credentials)) {}

  /// "Bearer <token>", renewed first when needed (a failed renewal keeps the old token: the
  /// service's 401 then says what happened).
  std::string authorization();
  const std::string& user() const { return credentials_.user; }

 private:
  std::string path_;
  std::mutex mutex_;
  Credentials credentials_;  // guarded by mutex_ (user never changes)
};

}  // namespace relay::cli
