#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "shared/auth/auth_key.h"
#include "shared/config_env.h"

namespace relay {

/// The settings of AUTH_MODE=accounts both services read (see README's table).
struct AuthSettings {
  std::string secret;    // AUTH_SECRET: the token key itself, at least 32 bytes
  std::string key_file;  // AUTH_KEY_FILE: where the key is (message-service: DATA_DIR/auth.key)
  /// ALLOWED_ORIGINS: origins (scheme://host[:port]) besides a request's own whose pages may make
  /// cookie-authenticated changes and credentialed cross-origin reads.
  std::vector<std::string> allowed_origins;
  int64_t access_token_ttl_s = 900;  // ACCESS_TOKEN_TTL, seconds
};

/// Reads AUTH_SECRET, AUTH_KEY_FILE, ALLOWED_ORIGINS and ACCESS_TOKEN_TTL; bad values are recorded
/// in `env` as for every setting.
AuthSettings read_auth_settings(EnvReader& env);

/// The key the settings name: AUTH_SECRET when set, else the key file. With `create` the file is
/// made (0600, random) when missing, as message-service does on first start; without it, it must
/// exist (notify-service reads message-service's).
AuthKey resolve_auth_key(const AuthSettings& settings, const std::string& default_key_file,
                         bool create);

}  // namespace relay
