// No credential in the logs: after signing in (right and wrong passwords), renewing with the
// session cookie, reading with the access cookie, sending tokens in query parameters and spending
// stream tickets (used, reused, percent-encoded, on a wrong route, in a malformed request), the
// whole output of both services, stdout and stderr, is read back once they have stopped.

#include <doctest/doctest.h>

#include "tests/integration/accounts_support.h"
#include "tests/integration/harness.h"
#include "tests/support/raw_socket.h"

namespace relay::itest {

TEST_CASE("logs: no ticket, access token, session, password or cookie value reaches the output") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  auto notify = relay.notify_http();
  const std::string wrong_password = "wrong-password-that-must-not-be-logged";
  Account alice = register_account(http, "alice");
  auto failed =
      http.post_json("/auth/login", {{"username", "alice"}, {"password", wrong_password}});
  REQUIRE(failed.status == 401);
  auto login = http.post_json("/auth/login", {{"username", "alice"}, {"password", kPassword}});
  REQUIRE_MESSAGE(login.status == 200, login.describe());
  Account second = signed_in_from(login);
  auto renewed = http.post("/auth/token", "", "application/json",
                           {{"Cookie", "relay_session=" + second.session}});
  REQUIRE_MESSAGE(renewed.status == 200, renewed.describe());
  std::string renewed_token = renewed.json()["access_token"];
  REQUIRE(http.get("/messages", {{"Cookie", "relay_access=" + alice.token}}).status == 200);
  REQUIRE(http.get("/auth/me?access_token=" + alice.token + "&token=" + second.token +
                       "&password=" + kPassword,
                   bearer(renewed_token))
              .status == 200);

  std::vector<std::string> tickets;
  auto new_ticket = [&] {
    auto response = http.post("/auth/stream-ticket", "", "application/json", bearer(alice.token));
    REQUIRE_MESSAGE(response.status == 201, response.describe());
    tickets.push_back(response.json()["ticket"]);
    return tickets.back();
  };
  std::string used = new_ticket();
  {
    SseStream stream(relay.notify_port(), "/events?channels=general&ticket=" + used,
                     {{"Cookie", "relay_access=" + second.token}});
    REQUIRE_MESSAGE(stream.wait_connected(), stream.describe());
  }
  CHECK(notify.get("/events?ticket=" + used).status == 401);  // reused
  {
    SseStream encoded(relay.notify_port(), "/events?%74icket=" + new_ticket());
    REQUIRE_MESSAGE(encoded.wait_connected(), encoded.describe());
  }
  CHECK(notify.get("/presence?ticket=" + new_ticket()).status == 401);
  CHECK(notify.get("/no-such-route?ticket=" + new_ticket()).status == 404);
  {
    RawSocket raw(relay.notify_port());
    REQUIRE(raw.send_all("GET /events?ticket=" + new_ticket() +
                         "&bad=%zz HTTP/1.1\r\nHost: x\r\nCookie: relay_access=" + alice.token +
                         "\r\n\r\n"));
    REQUIRE_MESSAGE(raw.read_until("\r\n\r\n", 5s), raw.buffer());
    CHECK(raw.buffer().rfind("HTTP/1.1 400", 0) == 0);
  }

  // Stopped, each service has written every line it will (the access log is flushed on exit).
  REQUIRE(relay.notify().stop().clean());
  REQUIRE(relay.message().stop().clean());
  std::vector<std::string> secrets = {alice.token,    second.token, renewed_token, alice.session,
                                      second.session, kPassword,    wrong_password};
  secrets.insert(secrets.end(), tickets.begin(), tickets.end());
  std::string message_log;
  std::string notify_log;
  for (auto* service : {&relay.message(), &relay.notify()}) {
    auto lines = service->stdout_lines();
    CHECK_MESSAGE(lines.size() < 300, "the harness keeps 300 lines: some may be lost");
    std::string& log = service == &relay.message() ? message_log : notify_log;
    for (const auto& line : lines) log += line + "\n";
    log += service->stderr_text();
  }
  for (const auto& secret : secrets) {
    CAPTURE(secret);
    CHECK(message_log.find(secret) == std::string::npos);
    CHECK(notify_log.find(secret) == std::string::npos);
  }
  // The requests were logged, with their credentials redacted.
  INFO(message_log);
  INFO(notify_log);
  CHECK(message_log.find("access_token=[redacted]&token=[redacted]&password=[redacted]") !=
        std::string::npos);
  CHECK(notify_log.find("/events?channels=general&ticket=[redacted]") != std::string::npos);
  CHECK(notify_log.find("/events?%74icket=[redacted]") != std::string::npos);
  CHECK(notify_log.find("/presence?ticket=[redacted]") != std::string::npos);
  CHECK(notify_log.find("/no-such-route?ticket=[redacted]") != std::string::npos);
}

}  // namespace relay::itest
