// Stream tickets against the real binaries: POST /auth/stream-ticket on message-service, spent on
// GET /events?ticket= at notify-service, which verifies them with the shared key and takes each
// once; refused when used again, expired, forged or of the wrong kind, and on every other route.

#include <doctest/doctest.h>

#include "shared/auth/access_token.h"
#include "shared/auth/stream_ticket.h"
#include "tests/integration/accounts_support.h"
#include "tests/integration/harness.h"

namespace relay::itest {

namespace {

// POST /auth/stream-ticket with `headers`; REQUIREs a 201 and returns the ticket.
std::string get_ticket(const HttpClient& http, const httplib::Headers& headers) {
  auto response = http.post("/auth/stream-ticket", "", "application/json", headers);
  REQUIRE_MESSAGE(response.status == 201, response.describe());
  return response.json().value("ticket", "");
}

// A ticket signed with `key` for `user`, as message-service would sign it but with any claims.
std::string ticket_signed(const std::string& key, const std::string& user, int64_t issued_at_s,
                          int64_t expires_at_s) {
  auto ticket = new_stream_ticket(user, issued_at_s);
  REQUIRE(ticket);
  ticket->expires_at_s = expires_at_s;
  auto token = sign_stream_ticket(key, *ticket);
  REQUIRE(token);
  return *token;
}

}  // namespace

TEST_CASE("stream tickets: a ticket opens one stream as its user, and only once") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  auto notify = relay.notify_http();
  Account alice = register_account(http, "alice");
  Account bob = register_account(http, "bob");
  register_account(http, "carol");

  auto issued = http.post("/auth/stream-ticket", "", "application/json", bearer(alice.token));
  REQUIRE_MESSAGE(issued.status == 201, issued.describe());
  Json body = issued.json();
  REQUIRE(body["ticket"].is_string());
  CHECK(body["expires_at"].is_string());
  CHECK(body["expires_in"] == kStreamTicketTtlS);
  CHECK(body["expires_in"].get<int64_t>() <= 60);
  CHECK(issued.header("Cache-Control") == "no-store");
  std::string ticket = body["ticket"];

  // No header, no cookie: the ticket alone makes the stream alice's (her direct messages only).
  auto stream = std::make_unique<SseStream>(relay.notify_port(), "/events?ticket=" + ticket);
  REQUIRE_MESSAGE(stream->wait_connected(), stream->describe());
  int64_t to_alice =
      id_of(post_message(http, {{"content", "for alice"}, {"to", "alice"}}, bearer(bob.token)));
  post_message(http, {{"content", "for carol"}, {"to", "carol"}}, bearer(bob.token));
  int64_t marker = id_of(post_message(http, {{"content", "marker"}}, bearer(bob.token)));
  REQUIRE_MESSAGE(stream->wait_message_id(marker), stream->describe());
  CHECK(stream->message_ids() == std::vector<int64_t>{to_alice, marker});

  // Used: refused while its stream is open, and after it closed.
  auto again = notify.get("/events?ticket=" + ticket);
  CHECK_MESSAGE(again.status == 401, again.describe());
  CHECK(again.json()["error"] == "unauthenticated");
  CHECK(again.header("WWW-Authenticate") == "Bearer");
  stream->stop();
  stream.reset();
  CHECK(notify.get("/events?ticket=" + ticket).status == 401);
  // Nor does an access token next to a used ticket rescue it: the ticket decides.
  CHECK(notify.get("/events?ticket=" + ticket, bearer(alice.token)).status == 401);

  // A fresh ticket works once more, for a reader named by it and not by ?user=.
  CHECK(notify.get("/events?user=bob&ticket=" + get_ticket(http, bearer(alice.token))).status ==
        403);
  SseStream by_cookie_ticket(
      relay.notify_port(),
      "/events?ticket=" + get_ticket(http, {{"Cookie", "relay_access=" + alice.token}}));
  CHECK_MESSAGE(by_cookie_ticket.wait_connected(), by_cookie_ticket.describe());

  auto metrics = notify.get("/metrics");
  CHECK(metric_value(metrics.body, "relay_stream_tickets_refused_total").value_or(0) == 3);
  CHECK(metric_value(metrics.body, "relay_stream_tickets_remembered").value_or(0) == 3);
  CHECK(metric_value(http.get("/metrics").body, "relay_stream_tickets_issued_total").value_or(0) ==
        3);
}

TEST_CASE("stream tickets: only for the signed-in, never cross-site, and limited per user") {
  Relay relay(accounts_options({{"ALLOWED_ORIGINS", "http://chat.example:8000"}}));
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  httplib::Headers cookie = {{"Cookie", "relay_access=" + alice.token}};

  for (const auto& [what, headers] : std::vector<std::pair<std::string, httplib::Headers>>{
           {"none", {}},
           {"forged token", bearer(token_for(std::string(40, 'x'), "alice", now_s() + 600))},
           {"expired token", bearer(token_for(kSecret, "alice", now_s() - 1))},
           {"session cookie only", {{"Cookie", "relay_session=" + alice.session}}}}) {
    CAPTURE(what);
    auto refused = http.post("/auth/stream-ticket", "", "application/json", headers);
    CHECK_MESSAGE(refused.status == 401, refused.describe());
  }
  httplib::Headers foreign = cookie;
  foreign.emplace("Origin", "http://evil.example");
  auto forged = http.post("/auth/stream-ticket", "", "application/json", foreign);
  CHECK_MESSAGE(forged.status == 403, forged.describe());
  CHECK(forged.json()["error"] == "forbidden");
  httplib::Headers allowed = cookie;
  allowed.emplace("Origin", "http://chat.example:8000");
  get_ticket(http, allowed);
  httplib::Headers bearer_elsewhere = bearer(alice.token);
  bearer_elsewhere.emplace("Origin", "http://evil.example");  // no ambient credential: fine
  get_ticket(http, bearer_elsewhere);

  // A service token names no user.
  auto service = sign_access_token(
      kSecret, AccessClaims{"", kNotifyServiceName, now_s(), now_s() + 60, kNotifyServiceName});
  REQUIRE(service);
  CHECK(http.post("/auth/stream-ticket", "", "application/json", bearer(*service)).status == 403);

  // Signed out: no more tickets from that session.
  Account second = signed_in_from(
      http.post_json("/auth/login", {{"username", "alice"}, {"password", kPassword}}));
  REQUIRE(http.post("/auth/logout", "", "application/json", bearer(second.token)).status == 200);
  CHECK(http.post("/auth/stream-ticket", "", "application/json", bearer(second.token)).status ==
        401);

  // 10 at once per user, then one a second (alice has 2 already): of 12 asked back to back at
  // most 8 more + the seconds they took (plus one) are issued, the rest are 429.
  Burst burst = send_burst(12, [&] {
    return http.post("/auth/stream-ticket", "", "application/json", bearer(alice.token));
  });
  CHECK(burst.passed + burst.limited == 12);
  CHECK(burst.passed >= 8);
  CHECK(burst.passed <= 8 + burst.took_s + 1);
  CHECK(burst.limited >= 1);
  CHECK(metric_value(http.get("/metrics").body, "relay_stream_tickets_limited_total").value_or(0) ==
        burst.limited);
  Account bob = register_account(http, "bob");
  get_ticket(http, bearer(bob.token));  // bob's own bucket
}

TEST_CASE(
    "stream tickets: forged, expired, long-lived or misused tickets are refused on every route") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  auto notify = relay.notify_http();
  Account alice = register_account(http, "alice");
  std::string real = get_ticket(http, bearer(alice.token));

  const std::string other_key(40, 'x');
  auto dot = [](const std::string& token, int which) {
    size_t first = token.find('.');
    size_t second = token.find('.', first + 1);
    if (which == 0) return token.substr(0, first);
    if (which == 1) return token.substr(first + 1, second - first - 1);
    return token.substr(second + 1);
  };
  std::string mallory = ticket_signed(kSecret, "mallory", now_s(), now_s() + 30);
  std::string none_payload =
      base64url("{\"exp\":" + std::to_string(now_s() + 30) + ",\"iat\":" + std::to_string(now_s()) +
                ",\"jti\":\"" + std::string(32, 'c') + "\",\"sub\":\"alice\",\"use\":\"stream\"}");
  std::vector<std::pair<std::string, std::string>> bad_tickets = {
      {"empty", ""},
      {"garbage", "garbage"},
      {"another key", ticket_signed(other_key, "alice", now_s(), now_s() + 30)},
      {"expired", ticket_signed(kSecret, "alice", now_s() - 40, now_s() - 10)},
      {"living an hour", ticket_signed(kSecret, "alice", now_s(), now_s() + 3600)},
      {"alg none", base64url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + none_payload + "."},
      {"mallory's payload under alice's signature",
       dot(real, 0) + "." + dot(mallory, 1) + "." + dot(real, 2)},
      {"an access token", alice.token},
  };
  for (const auto& [what, bad] : bad_tickets) {
    CAPTURE(what);
    auto response = notify.get("/events?ticket=" + bad);
    CHECK_MESSAGE(response.status == 401, response.describe());
    CHECK(response.json()["error"] == "unauthenticated");
  }

  // A ticket is not an access token anywhere, and counts as nothing outside GET /events.
  std::string ticket = get_ticket(http, bearer(alice.token));
  for (const std::string path : {"/messages", "/auth/me", "/log", "/channels"}) {
    CAPTURE(path);
    CHECK(http.get(path, bearer(ticket)).status == 401);
    CHECK(http.get(path, {{"Cookie", "relay_access=" + ticket}}).status == 401);
    CHECK(http.get(path + "?ticket=" + ticket).status == 401);
  }
  CHECK(http.post("/auth/stream-ticket", "", "application/json", bearer(ticket)).status == 401);
  CHECK(http.post_json("/messages", {{"content", "x"}}, bearer(ticket)).status == 401);
  CHECK(notify.get("/events", bearer(ticket)).status == 401);
  CHECK(notify.get("/events", {{"Cookie", "relay_access=" + ticket}}).status == 401);
  CHECK(notify.get("/presence", bearer(ticket)).status == 401);
  CHECK(notify.get("/presence?ticket=" + ticket).status == 401);
  // None of those spent it: it still opens its one stream.
  SseStream stream(relay.notify_port(), "/events?ticket=" + ticket);
  CHECK_MESSAGE(stream.wait_connected(), stream.describe());
  CHECK(relay.notify().running());
}

}  // namespace relay::itest
