#include "message-service/auth_routes.h"

#include <unistd.h>

#include <iostream>

#include "message-service/password_hash.h"
#include "shared/auth/stream_ticket.h"
#include "shared/http/head_checks.h"
#include "shared/time_format.h"
#include "shared/validation.h"

namespace relay {

namespace {

constexpr size_t kMinPasswordCharacters = 10;
constexpr size_t kMaxPasswordBytes = 1024;

size_t utf8_characters(std::string_view text) {
  size_t count = 0;
  for (unsigned char byte : text) count += (byte & 0xC0) != 0x80;
  return count;
}

// The rule for a new account's name and password: 400 invalid_username or weak_password.
std::optional<ApiError> check_new_account(const std::string& username,
                                          const std::string& password) {
  if (!is_valid_user_name(username)) {
    return ApiError{400, "invalid_username",
                    "\"username\" must be 1 to 64 bytes of UTF-8 with no control or invisible "
                    "characters"};
  }
  if (utf8_characters(password) < kMinPasswordCharacters || password.size() > kMaxPasswordBytes ||
      password == username) {
    return ApiError{400, "weak_password",
                    "the password must be 10 characters or more (at most 1024 bytes) and not "
                    "the user name"};
  }
  return std::nullopt;
}

// {"username", "password"}: both strings (the body is a JSON object of valid UTF-8).
std::variant<std::pair<std::string, std::string>, ApiError> read_credentials(
    std::string_view body) {
  auto parsed = nlohmann::json::parse(body, nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object() || !is_valid_utf8(body)) {
    return ApiError{400, "invalid_json", "send {\"username\": ..., \"password\": ...} as JSON"};
  }
  auto username = parsed.find("username");
  auto password = parsed.find("password");
  if (username == parsed.end() || !username->is_string() || password == parsed.end() ||
      !password->is_string()) {
    return ApiError{400, "missing_credentials",
                    "\"username\" and \"password\" are required, both strings"};
  }
  return std::pair{username->get<std::string>(), password->get<std::string>()};
}

HttpReply too_many(const std::string& detail, int64_t retry_after_s) {
  HttpReply reply = HttpReply::error({429, "too_many_attempts", detail});
  reply.headers.emplace_back("Retry-After", std::to_string(retry_after_s));
  return reply;
}

HttpReply accounts_unavailable(const Logger& logger, const std::string& error) {
  logger.error("account store failed", {{"error", error}});
  HttpReply reply = HttpReply::error(
      {503, "store_unavailable", "the account store could not be used; retry later"});
  reply.headers.emplace_back("Retry-After", "1");
  return reply;
}

}  // namespace

AuthRoutes::AuthRoutes(const MessageServiceConfig& config, AccountStore& accounts,
                       ChannelDirectory& channels, RevokedSessions& revoked,
                       const RequestAuthenticator& authenticator, MetricsRegistry& metrics,
                       const Logger& logger, ClusterLimits* cluster)
    : config_(config),
      accounts_(accounts),
      channels_(channels),
      revoked_(revoked),
      authenticator_(authenticator),
      logger_(logger),
      registered_(metrics.counter("relay_accounts_registered_total", "Accounts created.")),
      logins_(metrics.counter("relay_logins_total", "Successful sign-ins.")),
      login_failures_(
          metrics.counter("relay_login_failures_total", "Sign-ins refused for bad credentials.")),
      throttled_(metrics.counter("relay_auth_throttled_total",
                                 "Sign-ins and registrations refused with 429.")),
      tickets_issued_(metrics.counter("relay_stream_tickets_issued_total",
                                      "Stream tickets issued by POST /auth/stream-ticket.")),
      tickets_limited_(metrics.counter("relay_stream_tickets_limited_total",
                                       "POST /auth/stream-ticket refused with 429 (per user).")),
      throttle_(5, std::chrono::minutes(15), cluster),
      registrations_("registrations", 5, 1.0 / 600, cluster),
      stream_tickets_("stream-tickets", 10, 1.0, cluster) {}

void AuthRoutes::add_routes(Router& router) {
  auto sync = [this](HttpReply (AuthRoutes::*handler)(HttpRequest&)) {
    return [this, handler](HttpRequest& req) { return (this->*handler)(req); };
  };
  HeadCheck signed_in_only = signed_in_check(&authenticator_);
  const size_t small_body = 4096;
  router.add({.method = "POST",
              .pattern = "/auth/register",
              .max_body_bytes = small_body,
              .blocking = true,  // Argon2id
              .check_head = require_json("the new account"),
              .handler = sync(&AuthRoutes::register_user)});
  router.add({.method = "POST",
              .pattern = "/auth/login",
              .max_body_bytes = small_body,
              .blocking = true,
              .check_head = require_json("the credentials"),
              .handler = sync(&AuthRoutes::login)});
  router.add({.method = "POST",
              .pattern = "/auth/logout",
              .max_body_bytes = small_body,  // a body, if any, is ignored
              .blocking = true,
              .check_head = signed_in_only,
              .handler = sync(&AuthRoutes::logout)});
  router.add({.method = "POST",
              .pattern = "/auth/token",
              .max_body_bytes = small_body,
              .blocking = true,
              .handler = sync(&AuthRoutes::renew)});
  router.add({.method = "POST",
              .pattern = "/auth/stream-ticket",
              .max_body_bytes = small_body,  // a body, if any, is ignored
              .check_head = signed_in_only,
              .handler = sync(&AuthRoutes::stream_ticket)});
  router.add({.method = "GET",
              .pattern = "/auth/me",
              .check_head = signed_in_only,
              .handler = sync(&AuthRoutes::me)});
}

HttpReply AuthRoutes::with_access_token(int status, const std::string& user,
                                        const std::string& session_id, HeaderList cookies) {
  int64_t now_s = authenticator_.now_s();
  AccessClaims claims{user, session_id, now_s, now_s + config_.auth.access_token_ttl_s, {}};
  auto token = sign_access_token(authenticator_.key(), claims);
  if (!token) return HttpReply::error({500, "internal_error", "no access token could be made"});
  HttpReply reply =
      HttpReply::json(status, {{"user", user},
                               {"access_token", *token},
                               {"expires_at", format_rfc3339_ms(claims.expires_at_s * 1000)},
                               {"expires_in", config_.auth.access_token_ttl_s}});
  reply.headers = std::move(cookies);
  reply.headers.emplace_back(
      "Set-Cookie", set_cookie_value(kAccessCookie, *token, config_.auth.access_token_ttl_s));
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

HttpReply AuthRoutes::signed_in(int status, const std::string& user) {
  auto session = accounts_.create_session(user, now_unix_ms(), config_.session_ttl_s * 1000);
  if (!session.ok()) return accounts_unavailable(logger_, session.error);
  return with_access_token(
      status, user, session->id,
      {{"Set-Cookie", set_cookie_value(kSessionCookie, session->id, config_.session_ttl_s)}});
}

HttpReply AuthRoutes::register_user(HttpRequest& req) {
  if (!config_.registration_open) {
    return HttpReply::error({403, "registration_closed",
                             "accounts are created by the operator (message-service user add)"});
  }
  auto read = read_credentials(req.body);
  if (auto* error = std::get_if<ApiError>(&read)) return HttpReply::error(*error);
  auto& [username, password] = std::get<std::pair<std::string, std::string>>(read);
  if (auto error = check_new_account(username, password)) return HttpReply::error(*error);
  if (!registrations_.allow(req.remote_addr)) {
    throttled_.add();
    return too_many("too many accounts were created from this address; try again later", 600);
  }
  auto hash = hash_password(password);
  if (!hash) return HttpReply::error({500, "internal_error", "the password could not be hashed"});
  std::string error;
  switch (accounts_.create_user(username, *hash, now_unix_ms(), &error)) {
    case AccountStore::CreateOutcome::kTaken:
      return HttpReply::error({409, "username_taken", "that user name is taken"});
    case AccountStore::CreateOutcome::kFailed:
      return accounts_unavailable(logger_, error);
    case AccountStore::CreateOutcome::kCreated:
      break;
  }
  // A removed account's name registered again starts with no channels of the old one's.
  if (!channels_.forget_user(username, &error)) {
    accounts_.remove_user(username, now_unix_ms());
    return accounts_unavailable(logger_, error);
  }
  registered_.add();
  logger_.info("account created", {{"user", username}, {"remote", req.remote_addr}});
  return signed_in(201, username);
}

HttpReply AuthRoutes::login(HttpRequest& req) {
  auto read = read_credentials(req.body);
  if (auto* error = std::get_if<ApiError>(&read)) return HttpReply::error(*error);
  auto& [username, password] = std::get<std::pair<std::string, std::string>>(read);
  const std::string user_key = "user:" + username;
  const std::string address_key = "addr:" + req.remote_addr;
  int64_t wait_s =
      std::max(throttle_.retry_after_s(user_key), throttle_.retry_after_s(address_key));
  if (wait_s > 0) {
    throttled_.add();
    return too_many("too many failed sign-ins; wait before trying again", wait_s);
  }
  std::string stored;
  if (is_valid_user_name(username) && password.size() <= kMaxPasswordBytes) {
    auto found = accounts_.password_hash(username);
    if (!found.ok()) return accounts_unavailable(logger_, found.error);
    if (found->has_value()) stored = **found;
  }
  // With no stored hash this spends the same time on a decoy and fails.
  if (!verify_password(password, stored)) {
    throttle_.record_failure(user_key);
    throttle_.record_failure(address_key);
    login_failures_.add();
    return HttpReply::error(
        {401, "invalid_credentials", "the user name or the password is not right"});
  }
  throttle_.forget(user_key);
  logins_.add();
  return signed_in(200, username);
}

HttpReply AuthRoutes::logout(HttpRequest& req) {
  auto identified = authenticator_.identify(req);
  if (auto* refusal = std::get_if<HttpReply>(&identified)) return std::move(*refusal);
  const auto& claims = std::get<Caller>(identified).claims;
  int64_t now_s = authenticator_.now_s();
  auto ended = accounts_.end_session(claims.session_id, now_s * 1000);
  if (!ended.ok()) return accounts_unavailable(logger_, ended.error);
  revoked_.add(claims.session_id, claims.expires_at_s, now_s);
  HttpReply reply = HttpReply::json(200, {{"status", "signed_out"}, {"user", claims.user}});
  reply.headers = {{"Set-Cookie", set_cookie_value(kSessionCookie, "", 0)},
                   {"Set-Cookie", set_cookie_value(kAccessCookie, "", 0)},
                   {"Cache-Control", "no-store"}};
  return reply;
}

HttpReply AuthRoutes::renew(HttpRequest& req) {
  auto session_id = cookie_value(req.header("cookie"), kSessionCookie);
  if (!session_id || session_id->empty() || session_id->size() > 128) {
    return unauthenticated_reply(
        "POST /auth/token renews the access token from the relay_session cookie a sign-in set; "
        "sign in first");
  }
  if (auto forged = authenticator_.cross_site_refusal(req)) return std::move(*forged);
  auto live = accounts_.live_session(*session_id, now_unix_ms());
  if (!live.ok()) return accounts_unavailable(logger_, live.error);
  if (!live->has_value()) {
    return unauthenticated_reply("the session has ended or expired; sign in again");
  }
  return with_access_token(200, (*live)->user, (*live)->id, {});
}

HttpReply AuthRoutes::me(HttpRequest& req) {
  auto identified = authenticator_.identify(req);
  if (auto* refusal = std::get_if<HttpReply>(&identified)) return std::move(*refusal);
  const auto& claims = std::get<Caller>(identified).claims;
  HttpReply reply = HttpReply::json(
      200, {{"user", claims.user}, {"expires_at", format_rfc3339_ms(claims.expires_at_s * 1000)}});
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

HttpReply AuthRoutes::stream_ticket(HttpRequest& req) {
  // signed_in_only admitted the caller (a user, not a service), refusing a cross-site cookie.
  if (!stream_tickets_.allow(req.caller)) {
    tickets_limited_.add();
    HttpReply reply = HttpReply::error(
        {429, "rate_limited", "at most 10 stream tickets at once, then one a second per user"});
    reply.headers.emplace_back("Retry-After", "1");
    return reply;
  }
  auto ticket = new_stream_ticket(req.caller, authenticator_.now_s());
  auto signed_ticket =
      ticket ? sign_stream_ticket(authenticator_.key(), *ticket) : std::optional<std::string>();
  if (!signed_ticket) {
    return HttpReply::error({500, "internal_error", "no stream ticket could be made"});
  }
  tickets_issued_.add();
  HttpReply reply =
      HttpReply::json(201, {{"ticket", *signed_ticket},
                            {"expires_at", format_rfc3339_ms(ticket->expires_at_s * 1000)},
                            {"expires_in", ticket->expires_at_s - ticket->issued_at_s}});
  reply.headers.emplace_back("Cache-Control", "no-store");
  return reply;
}

int run_user_command(const MessageServiceConfig& config, int argc, char** argv) {
  auto usage = [] {
    std::cerr << "usage: message-service user add NAME   (the password is read from stdin)\n"
                 "       message-service user remove NAME\n";
    return 2;
  };
  if (argc != 4 || std::string(argv[1]) != "user") return usage();
  std::string action = argv[2];
  std::string name = argv[3];
  std::string error;
  auto accounts = AccountStore::open_for(config, &error);
  if (!accounts) {
    std::cerr << "message-service: cannot open the account store: " << error << "\n";
    return 1;
  }
  if (action == "add") {
    if (::isatty(STDIN_FILENO)) std::cerr << "password for " << name << ": " << std::flush;
    std::string password;
    std::getline(std::cin, password);
    if (auto refusal = check_new_account(name, password)) {
      std::cerr << "message-service: " << refusal->code << ": " << refusal->detail << "\n";
      return 2;
    }
    auto hash = hash_password(password);
    if (!hash) {
      std::cerr << "message-service: the password could not be hashed\n";
      return 1;
    }
    switch (accounts->create_user(name, *hash, now_unix_ms(), &error)) {
      case AccountStore::CreateOutcome::kTaken:
        std::cerr << "message-service: user " << name << " exists already\n";
        return 1;
      case AccountStore::CreateOutcome::kFailed:
        std::cerr << "message-service: " << error << "\n";
        return 1;
      case AccountStore::CreateOutcome::kCreated: {
        auto channels = ChannelDirectory::open_for(config, &error);
        if (!channels || !channels->forget_user(name, &error)) {
          accounts->remove_user(name, now_unix_ms());
          std::cerr << "message-service: the channel directory failed: " << error << "\n";
          return 1;
        }
        std::cout << "created user " << name << "\n";
        return 0;
      }
    }
  }
  if (action == "remove") {
    auto removed = accounts->remove_user(name, now_unix_ms());
    if (!removed.ok()) {
      std::cerr << "message-service: " << removed.error << "\n";
      return 1;
    }
    if (!*removed) {
      std::cerr << "message-service: no user " << name << "\n";
      return 1;
    }
    auto channels = ChannelDirectory::open_for(config, &error);
    if (!channels || !channels->forget_user(name, &error)) {
      std::cerr << "message-service: removed user " << name
                << " but not from their channels: " << error << "\n";
      return 1;
    }
    std::cout << "removed user " << name << " and ended their sessions\n";
    return 0;
  }
  return usage();
}

}  // namespace relay
