#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "shared/auth/access_token.h"
#include "shared/http/http_reply.h"
#include "shared/http/http_request.h"
#include "shared/http/router.h"

namespace relay {

/// The cookies of AUTH_MODE=accounts. Both are HttpOnly (page scripts never see them) and
/// SameSite=Lax; cookies ignore the port, so the access cookie message-service sets reaches
/// notify-service on the same host and an EventSource can use it.
inline constexpr std::string_view kAccessCookie = "relay_access";    // the access token
inline constexpr std::string_view kSessionCookie = "relay_session";  // renews the access token

/// The value of cookie `name` in a Cookie header ("a=1; b=2"), or nullopt when it is not there.
std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name);

/// A `Set-Cookie` value for one of our cookies: HttpOnly, SameSite=Lax, Path=/, Max-Age. An empty
/// `value` with `max_age_s` 0 deletes it.
std::string set_cookie_value(std::string_view name, std::string_view value, int64_t max_age_s);

/// Who a request's credential says sent it.
struct Caller {
  AccessClaims claims;
  bool by_cookie = false;  // the credential was a cookie (a browser sends those unasked)
};

/// Checks the access token a request head presents in AUTH_MODE=accounts: `Authorization: Bearer
/// <token>` first, else the relay_access cookie. Refusals: 401 `unauthenticated` (none, or one
/// that is forged, altered, expired or of an ended session, with `WWW-Authenticate: Bearer`), and
/// 403 `forbidden` for a cross-site request forgery: a cookie-authenticated request that changes
/// something (not GET/HEAD) from an Origin that is neither the request's own host nor in
/// `allowed_origins`. Immutable once built; any thread.
class RequestAuthenticator {
 public:
  struct Options {
    std::string key;                           // the token key (AUTH_SECRET or the key file)
    std::vector<std::string> allowed_origins;  // ALLOWED_ORIGINS: exact serialized origins
    /// True when a session was ended (a logout) before its tokens expire; empty: never asked
    /// (notify-service: a token stops working there when it expires).
    std::function<bool(const std::string& session_id)> session_ended;
    std::function<int64_t()> now_s;  // Unix seconds; empty: the system clock
  };
  explicit RequestAuthenticator(Options options);

  /// Who sent `head`, or the refusal to answer with.
  std::variant<Caller, HttpReply> identify(const HttpRequest& head) const;

  /// identify() for a route's head check: records the caller in `head.caller` (a user) or
  /// `head.caller_service` and returns nullopt, or returns the refusal. A service token is
  /// refused (403) unless `allow_service`.
  std::optional<HttpReply> admit(HttpRequest& head, bool allow_service = false) const;

  /// 403 `forbidden` when a request carries an Origin that is neither its own host's nor in
  /// ALLOWED_ORIGINS: for a request a cookie authenticates (a browser sends cookies unasked).
  std::optional<HttpReply> cross_site_refusal(const HttpRequest& head) const;

  /// True when `origin` is in ALLOWED_ORIGINS.
  bool origin_allowed(std::string_view origin) const;

  int64_t now_s() const;
  /// The token key (message-service signs with it too).
  const std::string& key() const { return options_.key; }

 private:
  Options options_;
};

/// The head check of a route that needs a signed-in caller: `authenticator->admit()` (a service
/// token only with `allow_service`), then `next`. Without an authenticator (AUTH_MODE=open) it is
/// `next` itself, so open mode pays nothing. `authenticator` must outlive the route.
HeadCheck signed_in_check(const RequestAuthenticator* authenticator, HeadCheck next = {},
                          bool allow_service = false);

/// Whose view a read (`?user=`) is for. Signed in (`req.caller` set): absent or the caller's own
/// name, else 403 `forbidden`, and the read is the caller's. A service caller (notify-service
/// replaying history for streams it has authenticated) reads for the `user` it names. Otherwise
/// (AUTH_MODE=open) whatever `user` says.
std::variant<std::string, ApiError> reading_user(const HttpRequest& req);

/// The 401 for a request without a (valid) credential.
HttpReply unauthenticated_reply(const std::string& detail);

}  // namespace relay
