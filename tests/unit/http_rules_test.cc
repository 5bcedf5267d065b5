// Unit tests of shared/http_rules.h: which Origin values CORS echoes, JSON media types, bearer
// tokens.

#include "shared/http_rules.h"

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

TEST_CASE("http rules: cors_headers echoes only a serialized origin") {
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
