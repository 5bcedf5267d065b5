#pragma once

// What the AUTH_MODE=accounts integration tests share: the pair started in accounts mode, accounts
// registered over the real API, and the credentials they present. Drive it from a test's thread.

#include <string>

#include "tests/integration/harness.h"

namespace relay::itest {

/// The AUTH_SECRET both services get.
extern const std::string kAuthSecret;
/// A password that passes the strength rule.
extern const std::string kPassword;

/// Both services in AUTH_MODE=accounts with kAuthSecret, `extra_*` merged over that.
RelayOptions accounts_options(Environment extra_message = {}, Environment extra_notify = {});

struct Account {
  std::string user;
  std::string token;    // the access token
  std::string session;  // the relay_session cookie's value
};

/// The value of cookie `name` among a response's Set-Cookie headers ("" if none), and its
/// attributes (from the first ';').
std::string set_cookie(const HttpResponse& response, const std::string& name,
                       std::string* attributes = nullptr);

/// The account a 200/201 sign-in answer describes (REQUIREs a JSON body).
Account signed_in_from(const HttpResponse& response);

/// POST /auth/register; REQUIREs a 201.
Account register_account(const HttpClient& http, const std::string& name,
                         const std::string& password = kPassword);

/// Authorization: Bearer `token`.
httplib::Headers bearer(const std::string& token);

}  // namespace relay::itest
