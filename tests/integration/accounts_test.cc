// AUTH_MODE=accounts against the real binaries: accounts and sessions, identity from the token
// only, every route refusing a missing, forged, altered or expired credential, direct messages
// seen only by their parties on every read path, login throttling, CSRF, and the operator's
// command line.

#include <array>
#include <filesystem>
#include <fstream>

#include <doctest/doctest.h>

#include "shared/auth/access_token.h"
#include "tests/integration/accounts_support.h"
#include "tests/integration/harness.h"
#include "tests/support/raw_socket.h"

namespace relay::itest {

TEST_CASE(
    "accounts: register, sign in, me, renew and logout, and a logout ends the credential at once") {
  Relay relay(accounts_options());
  auto http = relay.message_http();

  auto registered =
      http.post_json("/auth/register", {{"username", "alice"}, {"password", kPassword}});
  REQUIRE_MESSAGE(registered.status == 201, registered.describe());
  Json body = registered.json();
  CHECK(body["user"] == "alice");
  CHECK(body["expires_at"].is_string());
  CHECK(body.dump().find(kPassword) == std::string::npos);
  std::string attributes;
  CHECK_FALSE(set_cookie(registered, "relay_session", &attributes).empty());
  CHECK(attributes.find("HttpOnly") != std::string::npos);
  CHECK(attributes.find("SameSite=Lax") != std::string::npos);
  CHECK(set_cookie(registered, "relay_access") == body["access_token"].get<std::string>());
  Account alice = signed_in_from(registered);

  SUBCASE("a taken name, a bad name and weak passwords are refused") {
    auto taken = http.post_json("/auth/register", {{"username", "alice"}, {"password", kPassword}});
    CHECK(taken.status == 409);
    CHECK(taken.json()["error"] == "username_taken");
    auto bad_name =
        http.post_json("/auth/register", {{"username", "al\u0085ice"}, {"password", kPassword}});
    CHECK(bad_name.json()["error"] == "invalid_username");
    for (std::string weak : {std::string("short"), std::string("longusername")}) {
      auto refused =
          http.post_json("/auth/register", {{"username", "longusername"}, {"password", weak}});
      CHECK_MESSAGE(refused.status == 400, refused.describe());
      CHECK(refused.json()["error"] == "weak_password");
    }
    auto missing = http.post_json("/auth/register", {{"username", "zed"}});
    CHECK(missing.status == 400);
  }

  SUBCASE("me answers from a bearer token or the access cookie") {
    auto me = http.get("/auth/me", bearer(alice.token));
    REQUIRE_MESSAGE(me.status == 200, me.describe());
    CHECK(me.json()["user"] == "alice");
    auto by_cookie = http.get("/auth/me", {{"Cookie", "relay_access=" + alice.token}});
    CHECK(by_cookie.status == 200);
  }

  SUBCASE("a wrong password and an unknown user get the same 401") {
    auto wrong =
        http.post_json("/auth/login", {{"username", "alice"}, {"password", "not the password"}});
    auto unknown =
        http.post_json("/auth/login", {{"username", "nobody"}, {"password", "not the password"}});
    CHECK(wrong.status == 401);
    CHECK(unknown.status == 401);
    CHECK(wrong.body == unknown.body);
    CHECK(wrong.json()["error"] == "invalid_credentials");
  }

  SUBCASE("logout ends that session at once; another session of the same user lives on") {
    auto login = http.post_json("/auth/login", {{"username", "alice"}, {"password", kPassword}});
    REQUIRE_MESSAGE(login.status == 200, login.describe());
    Account second = signed_in_from(login);
    CHECK(second.session != alice.session);

    auto renewed = http.post("/auth/token", "", "application/json",
                             {{"Cookie", "relay_session=" + alice.session}});
    REQUIRE_MESSAGE(renewed.status == 200, renewed.describe());
    std::string fresh = renewed.json()["access_token"];
    CHECK(http.get("/auth/me", bearer(fresh)).status == 200);

    auto out = http.post("/auth/logout", "", "application/json", bearer(alice.token));
    REQUIRE_MESSAGE(out.status == 200, out.describe());
    CHECK(set_cookie(out, "relay_session").empty());  // cleared
    for (const auto& token : {alice.token, fresh}) {
      auto me = http.get("/auth/me", bearer(token));
      CHECK_MESSAGE(me.status == 401, me.describe());
      CHECK(http.get("/messages", bearer(token)).status == 401);
    }
    auto renew_again = http.post("/auth/token", "", "application/json",
                                 {{"Cookie", "relay_session=" + alice.session}});
    CHECK(renew_again.status == 401);
    CHECK(http.get("/auth/me", bearer(second.token)).status == 200);

    // And after a restart: the ended session is still refused.
    relay.message().stop();
    relay.start_message();
    auto http2 = relay.message_http();
    CHECK(http2.get("/auth/me", bearer(alice.token)).status == 401);
    CHECK(http2.get("/auth/me", bearer(second.token)).status == 200);
  }
}

TEST_CASE("accounts: every route but the open ones needs a valid credential") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  auto notify = relay.notify_http();
  Account alice = register_account(http, "alice");
  Json message = post_message(http, {{"content", "hello"}}, bearer(alice.token));
  std::string id = message["id"];

  std::vector<std::pair<std::string, std::string>> api = {
      {"GET", "/messages"},       {"POST", "/messages"},
      {"GET", "/messages/" + id}, {"POST", "/messages/" + id + "/receipts"},
      {"POST", "/typing"},        {"GET", "/log"},
      {"GET", "/channels"},       {"GET", "/auth/me"},
      {"POST", "/auth/logout"}};
  const std::string other_key(40, 'x');
  auto parts_of = [](const std::string& token) {
    size_t first = token.find('.');
    size_t second = token.find('.', first + 1);
    return std::array<std::string, 3>{token.substr(0, first),
                                      token.substr(first + 1, second - first - 1),
                                      token.substr(second + 1)};
  };
  auto real = parts_of(alice.token);
  std::string payload =
      "{\"exp\":" + std::to_string(now_s() + 600) + ",\"iat\":0,\"sid\":\"s\",\"sub\":\"mallory\"}";
  std::vector<std::pair<std::string, httplib::Headers>> credentials = {
      {"none", {}},
      {"not bearer", {{"Authorization", "Basic YWxpY2U6eA=="}}},
      {"garbage", bearer("garbage")},
      {"another key", bearer(token_for(other_key, "alice", now_s() + 600))},
      {"expired", bearer(token_for(kSecret, "alice", now_s() - 1))},
      {"alg none",
       bearer(base64url("{\"alg\":\"none\",\"typ\":\"JWT\"}") + "." + base64url(payload) + ".")},
      {"altered payload", bearer(real[0] + "." + base64url(payload) + "." + real[2])},
      {"forged cookie",
       {{"Cookie", "relay_access=" + token_for(other_key, "alice", now_s() + 600)}}},
  };
  for (const auto& [what, headers] : credentials) {
    CAPTURE(what);
    for (const auto& [method, path] : api) {
      CAPTURE(method + " " + path);
      auto response = method == "GET" ? http.get(path, headers)
                                      : http.post(path, "{\"content\":\"x\",\"status\":\"read\"}",
                                                  "application/json", headers);
      CHECK_MESSAGE(response.status == 401, response.describe());
      CHECK(response.json()["error"] == "unauthenticated");
    }
    for (const std::string path : {"/events", "/presence"}) {
      CAPTURE(path);
      auto response = notify.get(path, headers);
      CHECK_MESSAGE(response.status == 401, response.describe());
    }
  }
  // Nothing was stored by all that: the one message is still the newest.
  auto listed = http.get("/messages", bearer(alice.token));
  REQUIRE(listed.status == 200);
  CHECK(listed.json()["messages"].size() == 1);

  // The open routes answer without a credential.
  CHECK(http.get("/health").status == 200);
  CHECK(http.get("/metrics").status == 200);
  auto config = http.get("/config.json");
  REQUIRE(config.status == 200);
  CHECK(config.json()["auth_mode"] == "accounts");
  CHECK(http.get("/").status == 200);
  CHECK(notify.get("/health").status == 200);

  SUBCASE("a refused POST is refused from its head: the announced body is never awaited") {
    RawSocket raw(relay.message_port());
    REQUIRE(
        raw.send_all("POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 100000\r\n\r\n"));
    REQUIRE_MESSAGE(raw.read_until("\r\n\r\n", 5s), raw.buffer());
    CHECK(raw.buffer().rfind("HTTP/1.1 401", 0) == 0);
  }
}

TEST_CASE("accounts: identity comes from the token, never from a user field") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  register_account(http, "bob");

  auto as_bob =
      http.post_json("/messages", {{"content", "hi"}, {"user", "bob"}}, bearer(alice.token));
  CHECK_MESSAGE(as_bob.status == 403, as_bob.describe());
  CHECK(as_bob.json()["error"] == "forbidden");
  Json own = post_message(http, {{"content", "mine"}}, bearer(alice.token));
  CHECK(own["user"] == "alice");
  Json named =
      post_message(http, {{"content", "mine too"}, {"user", "alice"}}, bearer(alice.token));
  CHECK(named["user"] == "alice");
  auto listed = http.get("/messages", bearer(alice.token));
  REQUIRE(listed.status == 200);
  CHECK(listed.json()["messages"].size() == 2);  // the refused one was not stored

  for (const std::string& path :
       std::vector<std::string>{"/messages?user=bob", "/log?user=bob",
                                "/messages/" + own["id"].get<std::string>() + "?user=bob"}) {
    CAPTURE(path);
    CHECK(http.get(path, bearer(alice.token)).status == 403);
  }
  CHECK(http.post_json("/typing", {{"user", "bob"}}, bearer(alice.token)).status == 403);
  CHECK(http.post_json("/messages/" + own["id"].get<std::string>() + "/receipts",
                       {{"user", "bob"}, {"status", "read"}}, bearer(alice.token))
            .status == 403);
  auto stream = relay.notify_http().get("/events?user=bob", bearer(alice.token));
  CHECK_MESSAGE(stream.status == 403, stream.describe());
}

TEST_CASE(
    "accounts: a direct message is seen by its two parties only, live, in history and on resume") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  Account bob = register_account(http, "bob");
  Account carol = register_account(http, "carol");

  SseStream bob_live(relay.notify_port(), "/events", bearer(bob.token));
  SseStream carol_live(relay.notify_port(), "/events", bearer(carol.token));
  REQUIRE_MESSAGE(bob_live.wait_connected(), bob_live.describe());
  REQUIRE_MESSAGE(carol_live.wait_connected(), carol_live.describe());

  Json dm = post_message(http, {{"content", "for bob only"}, {"to", "bob"}}, bearer(alice.token));
  int64_t dm_id = id_of(dm);
  Json marker = post_message(http, {{"content", "marker"}}, bearer(alice.token));
  int64_t marker_id = id_of(marker);

  REQUIRE(bob_live.wait_message_id(marker_id));
  CHECK(bob_live.message_ids() == std::vector<int64_t>{dm_id, marker_id});
  REQUIRE(carol_live.wait_message_id(marker_id));
  CHECK(carol_live.message_ids() == std::vector<int64_t>{marker_id});

  // History and single reads.
  auto ids_in = [](const Json& list, const char* key) {
    std::vector<int64_t> ids;
    for (const auto& item : list[key]) ids.push_back(id_of(item));
    return ids;
  };
  auto bob_history = http.get("/messages", bearer(bob.token));
  auto carol_history = http.get("/messages", bearer(carol.token));
  CHECK(ids_in(bob_history.json(), "messages") == std::vector<int64_t>{dm_id, marker_id});
  CHECK(ids_in(carol_history.json(), "messages") == std::vector<int64_t>{marker_id});
  CHECK(http.get("/messages/" + std::to_string(dm_id), bearer(carol.token)).status == 404);
  CHECK(http.get("/messages/" + std::to_string(dm_id), bearer(bob.token)).status == 200);
  CHECK(http.get("/messages/" + std::to_string(dm_id), bearer(alice.token)).status == 200);
  auto carol_log = http.get("/log", bearer(carol.token));
  REQUIRE(carol_log.status == 200);
  Json carol_events = carol_log.json()["events"];  // held: the loop must not outlive a temporary
  for (const auto& event : carol_events) {
    CHECK(event.value("to", "") != "bob");
  }
  auto carol_receipt = http.post_json("/messages/" + std::to_string(dm_id) + "/receipts",
                                      {{"status", "read"}}, bearer(carol.token));
  CHECK(carol_receipt.status == 404);

  // Resumed from the start: notify-service reads message-service's log with its service token,
  // for the stream's own user only.
  httplib::Headers carol_resume = bearer(carol.token);
  carol_resume.emplace("Last-Event-ID", "0");
  httplib::Headers bob_resume = bearer(bob.token);
  bob_resume.emplace("Last-Event-ID", "0");
  SseStream carol_again(relay.notify_port(), "/events", carol_resume);
  SseStream bob_again(relay.notify_port(), "/events", bob_resume);
  REQUIRE(bob_again.wait_message_id(marker_id));
  CHECK(bob_again.message_ids() == std::vector<int64_t>{dm_id, marker_id});
  REQUIRE(carol_again.wait_message_id(marker_id));
  CHECK(carol_again.message_ids() == std::vector<int64_t>{marker_id});

  // A stream opened with the access cookie (as a browser's EventSource does) is its user's too.
  SseStream bob_cookie(relay.notify_port(), "/events?last_event_id=0",
                       {{"Cookie", "relay_access=" + bob.token}});
  REQUIRE(bob_cookie.wait_message_id(marker_id));
  CHECK(bob_cookie.message_ids() == std::vector<int64_t>{dm_id, marker_id});
}

TEST_CASE("accounts: repeated failed sign-ins are answered 429 with Retry-After") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  register_account(http, "alice");
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto wrong = http.post_json("/auth/login", {{"username", "alice"}, {"password", "wrong one!"}});
    CHECK_MESSAGE(wrong.status == 401, wrong.describe());
  }
  auto right = http.post_json("/auth/login", {{"username", "alice"}, {"password", kPassword}});
  CHECK_MESSAGE(right.status == 429, right.describe());
  CHECK_FALSE(right.header("Retry-After").empty());
  CHECK(std::stoi(right.header("Retry-After")) > 0);
  // The address is throttled too: guessing another user's password from here waits as well.
  auto other = http.post_json("/auth/login", {{"username", "bob"}, {"password", "wrong one!"}});
  CHECK(other.status == 429);
  auto metrics = http.get("/metrics");
  CHECK(metric_value(metrics.body, "relay_auth_throttled_total").value_or(0) >= 2);
  CHECK(metric_value(metrics.body, "relay_login_failures_total").value_or(0) == 5);
}

TEST_CASE("accounts: a sixth registration from one address is 429, counted, and makes no account") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  for (int i = 1; i <= 5; ++i) register_account(http, "user" + std::to_string(i));
  auto sixth = http.post_json("/auth/register", {{"username", "sixth"}, {"password", kPassword}});
  CHECK_MESSAGE(sixth.status == 429, sixth.describe());
  CHECK(sixth.json()["error"] == "too_many_attempts");
  CHECK(sixth.header("Content-Type").rfind("application/json", 0) == 0);
  CHECK(set_cookie(sixth, "relay_session").empty());
  CHECK(set_cookie(sixth, "relay_access").empty());
  REQUIRE_FALSE(sixth.header("Retry-After").empty());
  CHECK(std::stoi(sixth.header("Retry-After")) > 0);
  auto metrics = http.get("/metrics");
  CHECK(metric_value(metrics.body, "relay_auth_throttled_total").value_or(0) == 1);
  CHECK(metric_value(metrics.body, "relay_accounts_registered_total").value_or(0) == 5);
  // No account: signing in as it fails as for any unknown name, and the first five work.
  auto as_sixth = http.post_json("/auth/login", {{"username", "sixth"}, {"password", kPassword}});
  CHECK_MESSAGE(as_sixth.status == 401, as_sixth.describe());
  CHECK(as_sixth.json()["error"] == "invalid_credentials");
  auto as_first = http.post_json("/auth/login", {{"username", "user1"}, {"password", kPassword}});
  CHECK_MESSAGE(as_first.status == 200, as_first.describe());
}

TEST_CASE("accounts: a cookie-authenticated change from a foreign Origin is refused") {
  Relay relay(accounts_options({{"ALLOWED_ORIGINS", "http://chat.example:8000"}}));
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  httplib::Headers cookie = {{"Cookie", "relay_access=" + alice.token}};
  auto with = [&](httplib::Headers headers, const std::string& origin) {
    headers.emplace("Origin", origin);
    return http.post("/messages", "{\"content\":\"x\"}", "application/json", headers);
  };
  auto forged = with(cookie, "http://evil.example");
  CHECK_MESSAGE(forged.status == 403, forged.describe());
  CHECK(forged.json()["error"] == "forbidden");
  CHECK(with(cookie, "http://127.0.0.1:" + std::to_string(relay.message_port())).status == 201);
  CHECK(with(cookie, "http://chat.example:8000").status == 201);
  CHECK(with(bearer(alice.token), "http://evil.example").status == 201);  // no ambient credential
  auto renew =
      http.post("/auth/token", "", "application/json",
                {{"Cookie", "relay_session=" + alice.session}, {"Origin", "http://evil.example"}});
  CHECK(renew.status == 403);
  // Reads with the cookie stay possible from anywhere (the answer is not readable cross-origin).
  CHECK(http.get("/messages", cookie).status == 200);
}

TEST_CASE(
    "accounts: with REGISTRATION=closed the operator adds and removes users on the command line") {
  Relay relay(accounts_options({{"REGISTRATION", "closed"}}));
  auto http = relay.message_http();
  auto refused = http.post_json("/auth/register", {{"username", "dave"}, {"password", kPassword}});
  CHECK(refused.status == 403);
  CHECK(refused.json()["error"] == "registration_closed");

  TempDir dir;
  std::string password_file = dir.path() + "/password";
  std::ofstream(password_file) << kPassword << "\n";
  auto run = [&](std::vector<std::string> args, const std::string& stdin_file) {
    ServiceProcess tool("message-service user", message_service_binary(),
                        {{"DATA_DIR", relay.data_dir()}, {"AUTH_MODE", "accounts"}});
    tool.set_args(std::move(args));
    if (!stdin_file.empty()) tool.set_stdin_file(stdin_file);
    REQUIRE(tool.spawn());
    auto status = tool.wait_exit(60s);
    REQUIRE(status);
    INFO(tool.diagnostics());
    return status->exited ? status->code : -1;
  };
  CHECK(run({"user", "add", "dave"}, password_file) == 0);
  CHECK(run({"user", "add", "dave"}, password_file) != 0);  // taken
  auto login = http.post_json("/auth/login", {{"username", "dave"}, {"password", kPassword}});
  REQUIRE_MESSAGE(login.status == 200, login.describe());
  Account dave = signed_in_from(login);
  CHECK(run({"user", "remove", "dave"}, "") == 0);
  auto after = http.post_json("/auth/login", {{"username", "dave"}, {"password", kPassword}});
  CHECK(after.status == 401);
  auto renew = http.post("/auth/token", "", "application/json",
                         {{"Cookie", "relay_session=" + dave.session}});
  CHECK(renew.status == 401);
}

TEST_CASE("accounts: hostile bodies and cookies on /auth/* are refused and create nothing") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  for (const std::string path : {"/auth/register", "/auth/login"}) {
    CAPTURE(path);
    std::vector<std::pair<std::string, int>> bodies = {
        {"{not json", 400},
        {"[\"alice\", \"correct horse battery\"]", 400},
        {"{\"username\": 7, \"password\": \"correct horse battery\"}", 400},
        {"{\"username\": \"alice\"}", 400},
        {"{\"username\": \"al\xff\", \"password\": \"correct horse battery\"}", 400},
        {"{\"username\": \"alice\", \"password\": \"" + std::string(5000, 'p') + "\"}", 413},
    };
    for (const auto& [body, status] : bodies) {
      CAPTURE(body.substr(0, 60));
      auto response = http.post(path, body, "application/json");
      CHECK_MESSAGE(response.status == status, response.describe());
    }
    auto form = http.post(path, "username=alice&password=correct+horse+battery",
                          "application/x-www-form-urlencoded");
    CHECK_MESSAGE(form.status == 415, form.describe());
  }
  // None of that made an account: the name is still free, and nobody could sign in as it.
  CHECK(http.post_json("/auth/login", {{"username", "alice"}, {"password", kPassword}}).status ==
        401);
  Account alice = register_account(http, "alice");

  // The renewal cookie: missing, empty, oversized, forged or repeated.
  for (const std::string& cookie :
       {std::string(), std::string("relay_session="), "relay_session=" + std::string(200, 'a'),
        std::string("relay_session=0000"), std::string("relay_session=x; relay_session=y"),
        "relay_access=" + alice.token}) {
    CAPTURE(cookie);
    auto renewed = http.post("/auth/token", "", "application/json", {{"Cookie", cookie}});
    CHECK_MESSAGE(renewed.status == 401, renewed.describe());
  }
  // A head of cookies past the server's 16 KiB is refused before any route sees it.
  auto huge = http.post("/auth/token", "", "application/json",
                        {{"Cookie", "relay_session=" + std::string(20000, 'a')}});
  CHECK_MESSAGE(huge.status == 431, huge.describe());
  CHECK(relay.message().running());
}

TEST_CASE("accounts: posts and streams are limited per user (429 with Retry-After)") {
  Relay relay(accounts_options({{"RATE_MESSAGES_BURST", "3"}, {"RATE_MESSAGES_PER_SEC", "1"}},
                               {{"MAX_STREAMS_PER_USER", "2"}}));
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  Account bob = register_account(http, "bob");

  // A burst of 3, then one a second: of 8 posts sent back to back at most 3 + the seconds they
  // took (plus one) pass, and the rest are refused before anything is stored.
  Burst burst = send_burst(8, [&] {
    return http.post_json("/messages", {{"content", "burst"}}, bearer(alice.token));
  });
  int created = burst.passed;
  int limited = burst.limited;
  CHECK(created + limited == 8);
  CHECK(created >= 3);
  CHECK(created <= 3 + burst.took_s + 1);
  CHECK(limited >= 1);
  CHECK(http.post_json("/messages", {{"content", "bob's own bucket"}}, bearer(bob.token)).status ==
        201);
  auto listed = http.get("/messages", bearer(alice.token));
  REQUIRE(listed.status == 200);
  CHECK(listed.json()["messages"].size() == static_cast<size_t>(created + 1));
  CHECK(metric_value(http.get("/metrics").body, "relay_messages_rate_limited_total").value_or(0) ==
        limited);

  auto first = std::make_unique<SseStream>(relay.notify_port(), "/events", bearer(alice.token));
  SseStream second(relay.notify_port(), "/events", bearer(alice.token));
  REQUIRE(first->wait_connected());
  REQUIRE(second.wait_connected());
  auto third = relay.notify_http().get("/events", bearer(alice.token));
  CHECK_MESSAGE(third.status == 429, third.describe());
  CHECK(third.json()["error"] == "too_many_streams");
  CHECK(third.header("Retry-After") == "5");
  SseStream bobs(relay.notify_port(), "/events", bearer(bob.token));
  CHECK(bobs.wait_connected());
  // A closed stream gives its place back.
  first->stop();
  first.reset();
  std::unique_ptr<SseStream> again;
  CHECK(eventually([&] {
    again = std::make_unique<SseStream>(relay.notify_port(), "/events", bearer(alice.token));
    return again->wait_connected(2s);
  }));
}

TEST_CASE("the chat page carries a Content-Security-Policy without inline scripts and no framing") {
  Relay relay;
  auto page = relay.message_http().get("/");
  REQUIRE_MESSAGE(page.status == 200, page.describe());
  std::string policy = page.header("Content-Security-Policy");
  CHECK(policy.find("script-src 'self';") != std::string::npos);
  CHECK(policy.find("unsafe-inline") == std::string::npos);
  CHECK(policy.find("frame-ancestors 'none'") != std::string::npos);
  CHECK(policy.find("connect-src 'self' http://127.0.0.1:" + std::to_string(relay.notify_port())) !=
        std::string::npos);
  CHECK(page.header("X-Content-Type-Options") == "nosniff");
  CHECK(page.header("Referrer-Policy") == "no-referrer");
  auto script = relay.message_http().get("/app.js");
  CHECK_FALSE(script.header("Content-Security-Policy").empty());
}

TEST_CASE("accounts: notify-service needs the key, and accounts mode may listen beyond loopback") {
  SUBCASE("notify-service without AUTH_SECRET or AUTH_KEY_FILE refuses to start") {
    ServiceProcess notify("notify-service", notify_service_binary(),
                          {{"PORT", "0"}, {"AUTH_MODE", "accounts"}});
    REQUIRE(notify.spawn());
    auto status = notify.wait_exit(20s);
    REQUIRE(status);
    CHECK(status->code == 2);
    CHECK(notify.stderr_text().find("AUTH_KEY_FILE") != std::string::npos);
  }
  SUBCASE("notify-service reads message-service's key file") {
    TempDir dir;
    Relay relay([&] {
      RelayOptions options;
      options.message_env = {{"AUTH_MODE", "accounts"}};
      options.notify_env = {{"AUTH_MODE", "accounts"}, {"AUTH_KEY_FILE", dir.path() + "/unused"}};
      options.start_notify = false;
      return options;
    }());
    std::string key_file = relay.data_dir() + "/auth.key";
    REQUIRE(std::filesystem::exists(key_file));
    CHECK((std::filesystem::status(key_file).permissions() & std::filesystem::perms::group_all) ==
          std::filesystem::perms::none);
    relay.notify().env()["AUTH_KEY_FILE"] = key_file;
    relay.start_notify();
    Account alice = register_account(relay.message_http(), "alice");
    SseStream stream(relay.notify_port(), "/events", bearer(alice.token));
    REQUIRE_MESSAGE(stream.wait_connected(), stream.describe());
    Json posted = post_message(relay.message_http(), {{"content", "x"}}, bearer(alice.token));
    CHECK(stream.wait_message_id(id_of(posted)));
  }
  SUBCASE("message-service in accounts mode starts on 0.0.0.0 without ALLOW_OPEN_NETWORK") {
    TempDir dir;
    ServiceProcess message("message-service", message_service_binary(),
                           {{"PORT", "0"},
                            {"BIND_ADDRESS", "0.0.0.0"},
                            {"AUTH_MODE", "accounts"},
                            {"DATA_DIR", dir.subdir("data")},
                            {"NOTIFICATION_SERVICE_URL", "http://127.0.0.1:1"}});
    REQUIRE_MESSAGE(message.start(), message.diagnostics());
  }
}

}  // namespace relay::itest
