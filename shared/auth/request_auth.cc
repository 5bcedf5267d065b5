#include "shared/auth/request_auth.h"

#include <algorithm>

#include "shared/http/cors_policy.h"
#include "shared/http_rules.h"
#include "shared/time_format.h"

namespace relay {

namespace {

bool changes_something(const std::string& method) {
  return method != "GET" && method != "HEAD";
}

}  // namespace

std::optional<std::string> cookie_value(std::string_view cookie_header, std::string_view name) {
  while (!cookie_header.empty()) {
    size_t end = cookie_header.find(';');
    std::string_view pair = cookie_header.substr(0, end);
    cookie_header =
        end == std::string_view::npos ? std::string_view() : cookie_header.substr(end + 1);
    while (!pair.empty() && (pair.front() == ' ' || pair.front() == '\t')) pair.remove_prefix(1);
    while (!pair.empty() && (pair.back() == ' ' || pair.back() == '\t')) pair.remove_suffix(1);
    size_t equals = pair.find('=');
    if (equals == std::string_view::npos || pair.substr(0, equals) != name) continue;
    std::string_view value = pair.substr(equals + 1);
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
      value = value.substr(1, value.size() - 2);
    }
    return std::string(value);
  }
  return std::nullopt;
}

std::string set_cookie_value(std::string_view name, std::string_view value, int64_t max_age_s) {
  std::string cookie(name);
  cookie.append("=").append(value).append("; Path=/; Max-Age=").append(std::to_string(max_age_s));
  cookie.append("; HttpOnly; SameSite=Lax");
  return cookie;
}

HeadCheck signed_in_check(const RequestAuthenticator* authenticator, HeadCheck next,
                          bool allow_service) {
  if (authenticator == nullptr) return next;
  return [authenticator, next = std::move(next),
          allow_service](HttpRequest& head) -> std::optional<HttpReply> {
    if (auto refusal = authenticator->admit(head, allow_service)) return refusal;
    if (next) return next(head);
    return std::nullopt;
  };
}

std::variant<std::string, ApiError> reading_user(const HttpRequest& req) {
  if (!req.caller_service.empty()) return req.param("user");
  if (auto error = check_claimed_user(req.param("user"), req.has_param("user"), req.caller)) {
    return *error;
  }
  return req.caller.empty() ? req.param("user") : req.caller;
}

HttpReply unauthenticated_reply(const std::string& detail) {
  HttpReply reply = HttpReply::error({401, "unauthenticated", detail});
  reply.headers.emplace_back("WWW-Authenticate", "Bearer");
  return reply;
}

RequestAuthenticator::RequestAuthenticator(Options options) : options_(std::move(options)) {}

int64_t RequestAuthenticator::now_s() const {
  if (options_.now_s) return options_.now_s();
  return now_unix_ms() / 1000;
}

bool RequestAuthenticator::origin_allowed(std::string_view origin) const {
  return std::find(options_.allowed_origins.begin(), options_.allowed_origins.end(), origin) !=
         options_.allowed_origins.end();
}

std::variant<Caller, HttpReply> RequestAuthenticator::identify(const HttpRequest& head) const {
  Caller caller;
  std::string token;
  if (head.has_header("authorization")) {
    token = std::string(bearer_token(head.header("authorization")));
    if (token.empty()) {
      return unauthenticated_reply("Authorization must be \"Bearer <access token>\"");
    }
  } else if (auto cookie = cookie_value(head.header("cookie"), kAccessCookie)) {
    token = std::move(*cookie);
    caller.by_cookie = true;
  } else {
    return unauthenticated_reply(
        "sign in first: POST /auth/login gives an access token; send it as Authorization: "
        "Bearer <token> (browsers: the relay_access cookie)");
  }
  auto claims = verify_access_token(options_.key, token, now_s());
  if (!claims) {
    return unauthenticated_reply(
        "the access token is invalid or has expired; renew it with POST /auth/token or sign in "
        "again");
  }
  if (claims->service.empty() && options_.session_ended &&
      options_.session_ended(claims->session_id)) {
    return unauthenticated_reply("this session was signed out; sign in again");
  }
  if (caller.by_cookie && changes_something(head.method)) {
    if (auto forged = cross_site_refusal(head)) return std::move(*forged);
  }
  caller.claims = std::move(*claims);
  return caller;
}

std::optional<HttpReply> RequestAuthenticator::cross_site_refusal(const HttpRequest& head) const {
  if (!head.has_header("origin")) return std::nullopt;  // not a browser's cross-site request
  std::string origin = head.header("origin");
  if (is_same_origin(origin, head.header("host")) || origin_allowed(origin)) return std::nullopt;
  return HttpReply::error({403, "forbidden",
                           "a cookie-authenticated change from another origin is refused "
                           "(cross-site request forgery); list the page's origin in "
                           "ALLOWED_ORIGINS"});
}

std::optional<HttpReply> RequestAuthenticator::admit(HttpRequest& head, bool allow_service) const {
  auto identified = identify(head);
  if (auto* refusal = std::get_if<HttpReply>(&identified)) return std::move(*refusal);
  auto& caller = std::get<Caller>(identified);
  if (!caller.claims.service.empty()) {
    if (!allow_service) {
      return HttpReply::error({403, "forbidden", "a service token cannot be used here"});
    }
    head.caller_service = caller.claims.service;
    return std::nullopt;
  }
  head.caller = caller.claims.user;
  return std::nullopt;
}

}  // namespace relay
