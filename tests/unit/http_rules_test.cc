// Unit tests of shared/http_rules.h and shared/http/cors_policy.h: which Origin values CORS
// echoes (open and credentialed), hosts and ports, JSON media types, bearer tokens.

#include "shared/http_rules.h"

#include "shared/http/cors_policy.h"

#include <optional>
#include <string>
#include <vector>

#include <doctest/doctest.h>

namespace relay {
namespace {

// The value of header `name` in `headers`, or nullopt.
std::optional<std::string> find_header(const HeaderList& headers, const std::string& name) {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return std::nullopt;
}

}  // namespace

TEST_SUITE_BEGIN("http_rules");

TEST_CASE("http rules: serialized origins are recognised") {
  for (const char* origin :
       {"http://a", "https://chat.example", "http://localhost:8080", "https://a.b-c.d:443",
        "http://127.0.0.1:1", "http://[::1]", "http://[::1]:8081", "https://[2001:db8::1]:65535",
        "http://[::ffff:127.0.0.1]:80", "http://A.EXAMPLE"}) {
    CAPTURE(origin);
    CHECK(is_serialized_origin(origin));
  }
  for (const std::string& origin : std::vector<std::string>{
           "",
           "null",
           "http://a\nSet-Cookie: x=1",
           "http://a\r\nSet-Cookie: x=1",
           "http://a\rb",
           std::string("http://a\0b", 10),
           "http://a/path",
           "http://a/",
           "http://a?q",
           "http://a#f",
           "http://a b",
           "http://user@a",
           "http://a:",
           "http://a:80x",
           "http://a:123456",
           "http://:80",
           "http://",
           "https://",
           "ftp://a",
           "HTTP://a",
           "javascript:alert(1)",
           "http//a",
           "http://[]",
           "http://[::1",
           "http://[::1]x",
           "http://[::g]",
           "http://a\t",
           "http://caf\xC3\xA9",
           " http://a",
       }) {
    CAPTURE(origin);
    CHECK_FALSE(is_serialized_origin(origin));
  }
}

TEST_CASE("http rules: open CORS echoes only a serialized origin") {
  const CorsPolicy open;
  auto cors_headers = [&open](const std::string& origin) { return open.headers(origin, "h:1"); };
  auto echoed = cors_headers("http://chat.example:8080");
  CHECK(find_header(echoed, "Access-Control-Allow-Origin") == "http://chat.example:8080");
  CHECK(find_header(echoed, "Vary") == "Origin");

  auto none = cors_headers("");
  CHECK(find_header(none, "Access-Control-Allow-Origin") == "*");
  CHECK_FALSE(find_header(none, "Vary"));

  for (const std::string& origin :
       {std::string("http://a\nSet-Cookie: x=1"), std::string("http://a\r\nX: y"),
        std::string("null"), std::string("http://a/path")}) {
    CAPTURE(origin);
    auto headers = cors_headers(origin);
    CHECK(headers == none);
    for (const auto& [name, value] : headers) {
      CHECK(value.find_first_of("\r\n") == std::string::npos);
      CHECK(value.find("Set-Cookie") == std::string::npos);
    }
  }
}

TEST_CASE("http rules: credentialed CORS echoes only allowed origins, never with a star") {
  CorsPolicy policy;
  policy.credentialed = true;
  policy.allowed_origins = {"https://chat.example"};
  policy.page_port = "8080";
  const std::string host = "relay.test:8081";  // notify-service as the browser reaches it

  for (const std::string& origin : {std::string("https://chat.example"),
                                    std::string("http://relay.test:8081"),  // its own
                                    std::string("http://relay.test:8080"),  // the page's
                                    std::string("https://relay.test:8080")}) {
    CAPTURE(origin);
    auto headers = policy.headers(origin, host);
    CHECK(find_header(headers, "Access-Control-Allow-Origin") == origin);
    CHECK(find_header(headers, "Access-Control-Allow-Credentials") == "true");
    CHECK(find_header(headers, "Vary") == "Origin");
    auto preflight = policy.preflight({"GET", "OPTIONS"}, origin, host);
    CHECK(find_header(preflight, "Access-Control-Allow-Methods") == "GET, OPTIONS");
  }
  for (const std::string& origin :
       {std::string(""), std::string("https://evil.example"), std::string("http://relay.test:9999"),
        std::string("http://chat.example"), std::string("https://chat.example.evil"),
        std::string("http://evil.test:8080"), std::string("null"),
        std::string("http://relay.test:8080\r\nX: y")}) {
    CAPTURE(origin);
    auto headers = policy.headers(origin, host);
    CHECK_FALSE(find_header(headers, "Access-Control-Allow-Origin"));
    CHECK_FALSE(find_header(headers, "Access-Control-Allow-Credentials"));
    CHECK(find_header(headers, "Vary") == "Origin");
    auto preflight = policy.preflight({"GET", "OPTIONS"}, origin, host);
    CHECK_FALSE(find_header(preflight, "Access-Control-Allow-Methods"));
    CHECK(find_header(preflight, "Allow") == "GET, OPTIONS");
  }
  // Without a page port only the request's own origin and the list count.
  policy.page_port.reset();
  CHECK_FALSE(policy.allows("http://relay.test:8080", host));
  CHECK(policy.allows("http://relay.test:8081", host));
  // A default port: the page's Origin has none.
  policy.page_port = "80";
  CHECK(policy.allows("http://relay.test", host));
  CHECK_FALSE(policy.allows("https://relay.test", host));
  CHECK_FALSE(policy.allows("http://relay.test", "bad host!:1"));
}

TEST_CASE("http rules: host names and URL ports") {
  CHECK(host_name_of("chat.example:8080") == "chat.example");
  CHECK(host_name_of("chat.example") == "chat.example");
  CHECK(host_name_of("[::1]:8081") == "[::1]");
  CHECK(host_name_of("[::1]") == "[::1]");
  CHECK(host_name_of("a b:1").empty());
  CHECK(host_name_of("").empty());
  CHECK(url_port("http://127.0.0.1:8080") == "8080");
  CHECK(url_port("http://127.0.0.1:8080/") == "8080");
  CHECK(url_port("http://[::1]:9/x") == "9");
  CHECK(url_port("http://[::1]") == "80");
  CHECK(url_port("https://chat.example") == "443");
  CHECK(url_port("http://chat.example:") == "80");
  CHECK(is_same_origin("http://a:1", "a:1"));
  CHECK(is_same_origin("https://a:1", "a:1"));
  CHECK_FALSE(is_same_origin("http://a:1", "a:2"));
  CHECK_FALSE(is_same_origin("http://a:1", ""));
}

TEST_CASE("http rules: is_json_content_type") {
  for (const char* type :
       {"application/json", "Application/JSON", "application/json; charset=utf-8",
        "application/json;charset=UTF-8", " application/json "}) {
    CAPTURE(type);
    CHECK(is_json_content_type(type));
  }
  for (const char* type : {"", "text/plain", "application/jsonx",
                           "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                           "text/plain; application/json", "application/json-patch+json"}) {
    CAPTURE(type);
    CHECK_FALSE(is_json_content_type(type));
  }
}

TEST_CASE("http rules: bearer_token_matches") {
  CHECK(bearer_token_matches("Bearer s3cret", "s3cret"));
  CHECK(bearer_token_matches("bearer s3cret", "s3cret"));
  CHECK(bearer_token_matches("BEARER s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3cre", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3cret2", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer S3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer  s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer s3cret ", "s3cret"));
  CHECK_FALSE(bearer_token_matches("s3cret", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Basic czNjcmV0", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer", "s3cret"));
  CHECK_FALSE(bearer_token_matches("", "s3cret"));
  CHECK_FALSE(bearer_token_matches("Bearer ", ""));  // no token configured never matches
  CHECK_FALSE(bearer_token_matches(std::string_view("Bearer s3cret\0", 14), "s3cret"));
}

TEST_SUITE_END();

}  // namespace relay
