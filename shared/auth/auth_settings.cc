#include "shared/auth/auth_settings.h"

#include "shared/http_rules.h"

namespace relay {

AuthSettings read_auth_settings(EnvReader& env) {
  AuthSettings settings;
  settings.secret = env.text("AUTH_SECRET", "");
  if (!settings.secret.empty()) {
    AuthKey key = auth_key_from_secret(settings.secret);
    if (!key.error.empty()) env.refuse(key.error);
  }
  settings.key_file = env.text("AUTH_KEY_FILE", "");
  for (const auto& origin : env.list("ALLOWED_ORIGINS")) {
    if (!is_serialized_origin(origin)) {
      env.refuse("ALLOWED_ORIGINS: \"" + origin +
                 "\" is not an origin (scheme://host[:port], comma-separated, no path, no *)");
      break;
    }
    settings.allowed_origins.push_back(origin);
  }
  settings.access_token_ttl_s =
      env.integer("ACCESS_TOKEN_TTL", settings.access_token_ttl_s, 30, 24 * 3600);
  return settings;
}

AuthKey resolve_auth_key(const AuthSettings& settings, const std::string& default_key_file,
                         bool create) {
  if (!settings.secret.empty()) return auth_key_from_secret(settings.secret);
  const std::string& path = settings.key_file.empty() ? default_key_file : settings.key_file;
  if (path.empty()) {
    return {{},
            "AUTH_MODE=accounts needs AUTH_SECRET, or AUTH_KEY_FILE naming message-service's "
            "key file (DATA_DIR/auth.key)"};
  }
  return create ? load_or_create_key_file(path) : read_key_file(path);
}

}  // namespace relay
