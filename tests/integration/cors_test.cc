// CORS on both services over raw HTTP, in both modes: which Origin is echoed, when credentials
// are allowed, preflights, and that a foreign page is never let read a signed-in user's answers.

#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "tests/integration/harness.h"
#include "tests/support/raw_socket.h"
#include "tests/support/response_head.h"

namespace relay::itest {

namespace {

using relay::testing::parse_response_head;
using relay::testing::ResponseHead;

const std::string kSecret = "cors-test-secret-of-at-least-32-bytes-long!";
const std::string kListed = "https://chat.example";
const std::string kForeign = "http://evil.example:8080";

// One request as a browser sends it to 127.0.0.1:`port`; the answer's head (a stream's too).
ResponseHead ask(int port, const std::string& method, const std::string& target,
                 const std::string& origin, const std::string& extra_headers = "") {
  RawSocket raw(port);
  REQUIRE(raw.connected());
  std::string request = method + " " + target +
                        " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) + "\r\n" +
                        extra_headers;
  if (!origin.empty()) request += "Origin: " + origin + "\r\n";
  request += "Connection: close\r\n\r\n";
  REQUIRE(raw.send_all(request));
  REQUIRE_MESSAGE(raw.read_until("\r\n\r\n", kPatience), raw.buffer());
  auto head = parse_response_head(raw.buffer().substr(0, raw.buffer().find("\r\n\r\n") + 4));
  REQUIRE(head);
  return *head;
}

ResponseHead preflight(int port, const std::string& target, const std::string& origin,
                       const std::string& method) {
  return ask(port, "OPTIONS", target, origin,
             "Access-Control-Request-Method: " + method +
                 "\r\nAccess-Control-Request-Headers: content-type\r\n");
}

// Credentials are never allowed together with "*".
void check_no_star_with_credentials(const ResponseHead& head) {
  INFO(head.head);
  if (head.has_header("Access-Control-Allow-Credentials")) {
    CHECK(head.header("Access-Control-Allow-Origin") != "*");
  }
}

// An answer a page of `origin` may read with its cookies.
void check_credentialed(const ResponseHead& head, const std::string& origin) {
  INFO(head.head);
  CHECK(head.header("Access-Control-Allow-Origin") == origin);
  CHECK(head.header("Access-Control-Allow-Credentials") == "true");
  CHECK(head.header_names("Vary", "Origin"));
}

// An answer no page may read: no Allow-Origin, no Allow-Credentials, and Vary: Origin so a cache
// does not hand it to an allowed page either.
void check_not_readable(const ResponseHead& head) {
  INFO(head.head);
  CHECK_FALSE(head.has_header("Access-Control-Allow-Origin"));
  CHECK_FALSE(head.has_header("Access-Control-Allow-Credentials"));
  CHECK(head.header_names("Vary", "Origin"));
}

}  // namespace

TEST_CASE("cors: open mode lets any page read without credentials, on both services") {
  Relay relay;
  for (int port : {relay.message_port(), relay.notify_port()}) {
    CAPTURE(port);
    auto echoed = ask(port, "GET", "/health", kForeign);
    CHECK(echoed.header("Access-Control-Allow-Origin") == kForeign);
    CHECK(echoed.header_names("Vary", "Origin"));
    CHECK_FALSE(echoed.has_header("Access-Control-Allow-Credentials"));
    auto none = ask(port, "GET", "/health", "");
    CHECK(none.header("Access-Control-Allow-Origin") == "*");
    CHECK_FALSE(none.has_header("Access-Control-Allow-Credentials"));
    auto bogus = ask(port, "GET", "/health", "null");
    CHECK(bogus.header("Access-Control-Allow-Origin") == "*");
  }
  auto pre = preflight(relay.message_port(), "/messages", kForeign, "POST");
  CHECK(pre.status == 204);
  CHECK(pre.header("Access-Control-Allow-Origin") == kForeign);
  CHECK(pre.header_names("Access-Control-Allow-Methods", "POST"));
  CHECK_FALSE(pre.has_header("Access-Control-Allow-Credentials"));
  auto stream = ask(relay.notify_port(), "GET", "/events", kForeign);
  CHECK(stream.status == 200);
  CHECK(stream.header("Access-Control-Allow-Origin") == kForeign);
  CHECK_FALSE(stream.has_header("Access-Control-Allow-Credentials"));
  auto notify_pre = preflight(relay.notify_port(), "/events", kForeign, "GET");
  CHECK(notify_pre.status == 204);
  CHECK(notify_pre.header("Access-Control-Allow-Origin") == kForeign);
}

TEST_CASE("cors: accounts mode echoes only the page's and the listed origins, with credentials") {
  RelayOptions options;
  options.message_env = {
      {"AUTH_MODE", "accounts"}, {"AUTH_SECRET", kSecret}, {"ALLOWED_ORIGINS", kListed}};
  options.notify_env = {
      {"AUTH_MODE", "accounts"}, {"AUTH_SECRET", kSecret}, {"ALLOWED_ORIGINS", kListed}};
  Relay relay(options);
  auto http = relay.message_http();
  auto signed_in = http.post_json("/auth/register",
                                  {{"username", "alice"}, {"password", "correct horse battery"}});
  REQUIRE_MESSAGE(signed_in.status == 201, signed_in.describe());
  const std::string bearer =
      "Authorization: Bearer " + signed_in.json().value("access_token", "") + "\r\n";
  // The chat page's origin: message-service's, as the browser reaches it.
  const std::string page = "http://127.0.0.1:" + std::to_string(relay.message_port());

  SUBCASE("message-service") {
    const int port = relay.message_port();
    for (const std::string& origin : {page, kListed}) {
      CAPTURE(origin);
      auto read = ask(port, "GET", "/channels", origin, bearer);
      CHECK(read.status == 200);
      check_credentialed(read, origin);
      auto pre = preflight(port, "/messages", origin, "POST");
      CHECK(pre.status == 204);
      check_credentialed(pre, origin);
      CHECK(pre.header_names("Access-Control-Allow-Methods", "POST"));
      check_no_star_with_credentials(pre);
    }
    // A foreign page: its request may even succeed (a bearer token), but it cannot read it.
    auto foreign = ask(port, "GET", "/channels", kForeign, bearer);
    check_not_readable(foreign);
    auto foreign_pre = preflight(port, "/messages", kForeign, "POST");
    check_not_readable(foreign_pre);
    CHECK_FALSE(foreign_pre.has_header("Access-Control-Allow-Methods"));
    // notify-service's origin is not the page's: message-service does not trust it.
    check_not_readable(ask(port, "GET", "/channels",
                           "http://127.0.0.1:" + std::to_string(relay.notify_port()), bearer));
    // No Origin (curl, the CLI): nothing to allow, and never "*".
    auto none = ask(port, "GET", "/channels", "", bearer);
    CHECK(none.status == 200);
    check_not_readable(none);
    // Refusals carry the same rule: a page of the allowed origin can read its 401.
    auto refused = ask(port, "GET", "/channels", page);
    CHECK(refused.status == 401);
    check_credentialed(refused, page);
  }

  SUBCASE("notify-service") {
    const int port = relay.notify_port();
    for (const std::string& origin : {page, kListed}) {
      CAPTURE(origin);
      auto stream = ask(port, "GET", "/events", origin, bearer);
      CHECK(stream.status == 200);
      check_credentialed(stream, origin);
      auto presence = ask(port, "GET", "/presence", origin, bearer);
      CHECK(presence.status == 200);
      check_credentialed(presence, origin);
      auto pre = preflight(port, "/events", origin, "GET");
      CHECK(pre.status == 204);
      check_credentialed(pre, origin);
    }
    for (const std::string& origin :
         {kForeign, std::string("http://127.0.0.1:1"),
          std::string("http://localhost:") + std::to_string(relay.message_port()),
          std::string("null")}) {
      CAPTURE(origin);
      check_not_readable(ask(port, "GET", "/events", origin, bearer));
      check_not_readable(ask(port, "GET", "/presence", origin, bearer));
      auto pre = preflight(port, "/events", origin, "GET");
      check_not_readable(pre);
      CHECK_FALSE(pre.has_header("Access-Control-Allow-Methods"));
    }
    auto none = ask(port, "GET", "/presence", "", bearer);
    CHECK(none.status == 200);
    check_not_readable(none);
    // POST /notify stays closed to browsers whatever the origin.
    auto notify_pre = preflight(port, "/notify", page, "POST");
    CHECK(notify_pre.status == 403);
    CHECK_FALSE(notify_pre.has_header("Access-Control-Allow-Origin"));
  }
}

}  // namespace relay::itest
