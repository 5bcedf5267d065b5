#pragma once

#include "message-service/account_store.h"
#include "message-service/channel_directory.h"
#include "message-service/cluster_limits.h"
#include "message-service/config.h"
#include "message-service/revoked_sessions.h"
#include "message-service/shared_login_throttle.h"
#include "message-service/shared_rate_limiter.h"
#include "shared/auth/request_auth.h"
#include "shared/http/router.h"
#include "shared/logfmt.h"
#include "shared/metrics.h"

namespace relay {

/// The accounts API of AUTH_MODE=accounts: POST /auth/register, /auth/login, /auth/logout,
/// /auth/token (a new access token from the session cookie, no password), GET /auth/me and POST
/// /auth/stream-ticket (a single-use ticket that opens one GET /events on notify-service).
/// A sign-in answers {"user", "access_token", "expires_at"} and sets two HttpOnly cookies: the
/// session (renews tokens, lasts SESSION_TTL) and the access token (lasts ACCESS_TOKEN_TTL, for
/// EventSource). Passwords are hashed with Argon2id on the worker pool and never logged; a wrong
/// password and an unknown user get the same 401 in about the same time; failures are throttled
/// per user name and per client address. With `cluster` (STORE=postgres) the throttle and the
/// limits count across instances. Holds references only; all must outlive the server.
/// Thread-safe (loops and workers call it).
class AuthRoutes {
 public:
  AuthRoutes(const MessageServiceConfig& config, AccountStore& accounts, ChannelDirectory& channels,
             RevokedSessions& revoked, const RequestAuthenticator& authenticator,
             MetricsRegistry& metrics, const Logger& logger, ClusterLimits* cluster = nullptr);

  void add_routes(Router& router);

 private:
  HttpReply register_user(HttpRequest& req);
  HttpReply login(HttpRequest& req);
  HttpReply logout(HttpRequest& req);
  HttpReply renew(HttpRequest& req);
  HttpReply me(HttpRequest& req);
  HttpReply stream_ticket(HttpRequest& req);
  /// Starts a session for `user` and answers `status` with its token and cookies.
  HttpReply signed_in(int status, const std::string& user);
  /// The answer carrying a fresh access token for a live session.
  HttpReply with_access_token(int status, const std::string& user, const std::string& session_id,
                              HeaderList cookies);

  const MessageServiceConfig& config_;
  AccountStore& accounts_;
  ChannelDirectory& channels_;
  RevokedSessions& revoked_;
  const RequestAuthenticator& authenticator_;
  const Logger& logger_;
  Counter& registered_;
  Counter& logins_;
  Counter& login_failures_;
  Counter& throttled_;
  Counter& tickets_issued_;
  Counter& tickets_limited_;
  /// 5 failures per user name or client address within 15 minutes, then 429.
  SharedLoginThrottle throttle_;
  /// Registrations per client address: 5 at once, then one every 10 minutes.
  SharedRateLimiter registrations_;
  /// Stream tickets per user: 10 at once, then one a second (what bounds notify-service's memory
  /// of used tickets per user: at most 40 live at a time).
  SharedRateLimiter stream_tickets_;
};

/// Creates or removes an account from the command line (`message-service user add NAME`, the
/// password read from stdin; `message-service user remove NAME`). Returns the exit code.
int run_user_command(const MessageServiceConfig& config, int argc, char** argv);

}  // namespace relay
