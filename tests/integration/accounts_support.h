#pragma once

// What the AUTH_MODE=accounts tests (accounts_test.cc, stream_ticket_test.cc, ...) share: both
// services started in accounts mode with one AUTH_SECRET, registering and signing in over the
// real API, and hand-made credentials (tokens signed with any key, base64url for forged parts).

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace relay::itest {

/// The AUTH_SECRET both services get, and the password every test account uses.
inline const std::string kSecret = "accounts-test-secret-of-at-least-32-bytes!";
inline const std::string kPassword = "correct horse battery";

/// Both services in AUTH_MODE=accounts with kSecret; `extra_*` are merged over that.
RelayOptions accounts_options(Environment extra_message = {}, Environment extra_notify = {});

/// A signed-in user as a sign-in answer gave it.
struct Account {
  std::string user;
  std::string token;    // the access token
  std::string session;  // the relay_session cookie's value
};

/// The value of cookie `name` among a response's Set-Cookie headers ("" when not set); its
/// attributes (from the first ';') in `attributes`.
std::string set_cookie(const HttpResponse& response, const std::string& name,
                       std::string* attributes = nullptr);

/// The account a sign-in answer (register or login) describes; REQUIREs a JSON object.
Account signed_in_from(const HttpResponse& response);

/// Creates private channel `name` owned by `owner` with `members` added; REQUIREs every step.
void create_private(const HttpClient& http, const Account& owner, const std::string& name,
                    const std::vector<const Account*>& members);

/// Registers `name` and REQUIREs a 201.
Account register_account(const HttpClient& http, const std::string& name,
                         const std::string& password = kPassword);

httplib::Headers bearer(const std::string& token);

/// An access token signed with `key` for `user` expiring at `expires_at_s`.
std::string token_for(const std::string& key, const std::string& user, int64_t expires_at_s);

/// Unix seconds now.
int64_t now_s();

/// base64url of `text` (no padding), for hand-made token parts.
std::string base64url(const std::string& text);

/// What `count` requests sent back to back to a rate-limited route got.
struct Burst {
  int passed = 0;   // 2xx
  int limited = 0;  // 429, each CHECKed to be `rate_limited` with a Retry-After
  int64_t took_s = 0;
};
Burst send_burst(int count, const std::function<HttpResponse()>& send);

}  // namespace relay::itest
