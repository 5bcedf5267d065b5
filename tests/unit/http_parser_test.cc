// Unit tests for shared/http's strict request-head parser and its percent and query decoding.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "shared/http/http_request.h"

namespace relay {
namespace {

using State = HttpHeadResult::State;

HttpHeadResult parse(std::string_view input, HttpRequest* request,
                     const HttpRequestLimits& limits = {}) {
  return parse_request_head(input, limits, request);
}

// Parses `input`, REQUIREs a complete head ending at `input`'s end and returns the request.
HttpRequest parse_complete(std::string_view input, const HttpRequestLimits& limits = {}) {
  HttpRequest request;
  HttpHeadResult result = parse(input, &request, limits);
  REQUIRE_MESSAGE(result.state == State::kComplete, "state " << static_cast<int>(result.state)
                                                             << " error " << result.error.status
                                                             << " " << result.error.detail);
  CHECK(result.head_bytes == input.size());
  return request;
}

// Parses `input` and REQUIREs an error; returns it.
ApiError parse_error(std::string_view input, const HttpRequestLimits& limits = {}) {
  HttpRequest request;
  request.method = "untouched";
  HttpHeadResult result = parse(input, &request, limits);
  REQUIRE_MESSAGE(result.state == State::kError, "input: " << input);
  CHECK_FALSE(result.error.code.empty());
  CHECK_FALSE(result.error.detail.empty());
  CHECK(request.method == "untouched");
  return result.error;
}

int status_of(std::string_view input, const HttpRequestLimits& limits = {}) {
  return parse_error(input, limits).status;
}

// A GET with `headers` (each ending in CRLF) after a Host header.
std::string get_with(std::string_view headers) {
  return "GET / HTTP/1.1\r\nHost: h\r\n" + std::string(headers) + "\r\n";
}

// A request line ahead of a Host header.
std::string with_line(std::string_view request_line) {
  return std::string(request_line) + "\r\nHost: h\r\n\r\n";
}

// Everything a parse produced, to compare two parses of the same input.
std::string describe(const HttpRequest& request, const HttpHeadResult& result) {
  std::string out = std::to_string(static_cast<int>(result.state)) +
                    " head_bytes=" + std::to_string(result.head_bytes) +
                    " error=" + std::to_string(result.error.status) + ":" + result.error.code +
                    "\n" + request.method + " " + request.target + " " + request.path +
                    " cl=" + std::to_string(request.content_length) +
                    " keep_alive=" + (request.keep_alive ? "1" : "0") +
                    " http10=" + (request.http10 ? "1" : "0") +
                    " continue=" + (request.expects_continue ? "1" : "0") + "\n";
  for (const auto& [name, value] : request.params) out += "param " + name + "=" + value + "\n";
  for (const auto& [name, value] : request.headers) out += "header " + name + ": " + value + "\n";
  return out;
}

// Feeds `input` one byte at a time, as a dripping client would; returns the first result that is
// not kIncomplete (or the last one) with the request, described, and how many bytes it took.
std::string feed_bytewise(std::string_view input, size_t* bytes_used,
                          const HttpRequestLimits& limits = {}) {
  HttpRequest request;
  HttpHeadResult result;
  for (size_t n = 1; n <= input.size(); ++n) {
    result = parse(input.substr(0, n), &request, limits);
    *bytes_used = n;
    if (result.state != State::kIncomplete) break;
  }
  return describe(request, result);
}

TEST_CASE("http parser: a complete GET gives method, target, path, query, headers, keep-alive") {
  HttpRequest request;
  request.remote_addr = "127.0.0.1";
  request.connection_id = 42;
  std::string input =
      "GET /messages/caf%C3%A9?channels=general,random&limit=5&empty=&flag HTTP/1.1\r\n"
      "Host: localhost:8080\r\n"
      "Accept: text/event-stream\r\n"
      "X-Mixed-Case:   padded value \t\r\n"
      "\r\n";
  HttpHeadResult result = parse(input, &request);
  REQUIRE(result.state == State::kComplete);
  CHECK(result.head_bytes == input.size());
  CHECK(request.method == "GET");
  CHECK(request.target == "/messages/caf%C3%A9?channels=general,random&limit=5&empty=&flag");
  CHECK(request.path == "/messages/caf\xC3\xA9");
  CHECK(request.param("channels") == "general,random");
  CHECK(request.param("limit") == "5");
  CHECK(request.has_param("empty"));
  CHECK(request.has_param("flag"));
  CHECK_FALSE(request.has_param("missing"));
  CHECK(request.header("HOST") == "localhost:8080");
  CHECK(request.header("x-mixed-case") == "padded value");
  CHECK(request.headers[2].first == "x-mixed-case");  // stored lower-case
  CHECK_FALSE(request.has_header("content-length"));
  CHECK(request.content_length == 0);
  CHECK(request.keep_alive);
  CHECK_FALSE(request.http10);
  CHECK_FALSE(request.expects_continue);
  CHECK(request.body.empty());
  CHECK(request.remote_addr == "127.0.0.1");
  CHECK(request.connection_id == 42);
}

TEST_CASE("http parser: every known method is accepted, other tokens are 501, non-tokens 400") {
  for (const char* method : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"}) {
    CHECK(parse_complete(with_line(std::string(method) + " / HTTP/1.1")).method == method);
  }
  for (const char* method : {"BREW", "get", "CONNECT", "TRACE", "PROPFIND"}) {
    ApiError error = parse_error(with_line(std::string(method) + " / HTTP/1.1"));
    CHECK(error.status == 501);
    CHECK(error.code == "not_implemented");
  }
  for (std::string method : {std::string("GE(T"), std::string("G\x01T"), std::string("GE\0T", 4),
                             std::string("GET\t"), std::string("g\xC3\xA9t")}) {
    ApiError error = parse_error(with_line(method + " / HTTP/1.1"));
    CHECK(error.status == 400);
    CHECK(error.code == "bad_request");
  }
}

TEST_CASE("http parser: only HTTP/1.1 and HTTP/1.0, other HTTP/d.d is 505, anything else 400") {
  CHECK_FALSE(parse_complete(with_line("GET / HTTP/1.1")).http10);
  CHECK(parse_complete("GET / HTTP/1.0\r\n\r\n").http10);
  for (const char* version : {"HTTP/2.0", "HTTP/0.9", "HTTP/1.2", "HTTP/3.0"}) {
    ApiError error = parse_error(with_line(std::string("GET / ") + version));
    CHECK(error.status == 505);
    CHECK(error.code == "http_version_not_supported");
  }
  for (const char* version : {"http/1.1", "HTTP/1.1x", "HTTP/11", "HTTP/1", "HTTP/1.a", "HTTP",
                              "HTTP/1.1 extra", "HTTP/1.1\x01"}) {
    CHECK(status_of(with_line(std::string("GET / ") + version)) == 400);
  }
  CHECK(status_of(with_line("GET /")) == 400);            // no version
  CHECK(status_of(with_line("GET  / HTTP/1.1")) == 400);  // two spaces
  CHECK(status_of(with_line("GET / HTTP/1.1 ")) == 400);  // trailing space
  CHECK(status_of(with_line(" GET / HTTP/1.1")) == 400);  // leading space
}

TEST_CASE("http parser: the target must be origin-form with no control, space or raw 8-bit byte") {
  CHECK(parse_complete(with_line("GET /a/b-c_d~e!$&'()*+,;=:@ HTTP/1.1")).path ==
        "/a/b-c_d~e!$&'()*+,;=:@");
  for (const char* target :
       {"http://evil.example/", "https://h/x", "evil.example:443", "*", "a/b", "?x=1"}) {
    ApiError error = parse_error(with_line(std::string("GET ") + target + " HTTP/1.1"));
    CHECK(error.status == 400);
  }
  CHECK(status_of(with_line("OPTIONS * HTTP/1.1")) == 400);
  CHECK(status_of(with_line("CONNECT evil.example:443 HTTP/1.1")) == 501);  // method first
  for (std::string target :
       {std::string("/a\x01"), std::string("/a\0b", 4), std::string("/a\tb"), std::string("/a\x7F"),
        std::string("/caf\xC3\xA9"), std::string("/x#frag")}) {
    CHECK(status_of(with_line("GET " + target + " HTTP/1.1")) == 400);
  }
}

TEST_CASE("http parser: the path is decoded, NUL, controls, bad UTF-8, %2F and dot segments 400") {
  CHECK(parse_complete(with_line("GET /caf%C3%A9/%E2%82%AC HTTP/1.1")).path ==
        "/caf\xC3\xA9/\xE2\x82\xAC");
  CHECK(parse_complete(with_line("GET /a%20b+c HTTP/1.1")).path == "/a b+c");  // '+' stays
  CHECK(parse_complete(with_line("GET /a.b/.hidden/..x/x.. HTTP/1.1")).path ==
        "/a.b/.hidden/..x/x..");
  for (
      const char* target :
      {"/%00",    "/a%00b", "/%01",       "/%1F",           "/%7F",    "/a%2Fb",   "/a%2fb",
       "/a%5Cb",  "/a%5cb", "/a\\b",      "/%2e%2e/secret", "/%2E%2E", "/a/%2e/b", "/a/.%2e/b",
       "/a/../b", "/..",    "/.",         "/a/./b",         "/a/..",   "/%C0%AF",  "/%C0%AE%C0%AE/",
       "/%FF",    "/%C3",   "/%ED%A0%80", "/%F4%90%80%80",  "/%",      "/%4",      "/%zz",
       "/%G0"}) {
    ApiError error = parse_error(with_line(std::string("GET ") + target + " HTTP/1.1"));
    CHECK_MESSAGE(error.status == 400, target);
    CHECK(error.code == "bad_request");
  }
}

TEST_CASE("http parser: the query is split and decoded, malformed escapes refuse the request") {
  HttpRequest request =
      parse_complete(with_line("GET /?a=1&b=x+y%21&&c=%C3%A9&a=2&d=e=f HTTP/1.1"));
  REQUIRE(request.params.size() == 5);
  CHECK(request.param("a") == "1");  // the first value
  CHECK(request.params[3].second == "2");
  CHECK(request.param("b") == "x y!");
  CHECK(request.param("c") == "\xC3\xA9");
  CHECK(request.param("d") == "e=f");
  CHECK(request.path == "/");
  for (const char* query : {"a=%00", "a=%", "a=%zz", "a=%FF", "%0A=1", "a=%C0%80"}) {
    CHECK_MESSAGE(status_of(with_line(std::string("GET /?") + query + " HTTP/1.1")) == 400, query);
  }
  // A %2F in the query is fine: it is data, not a path separator.
  CHECK(parse_complete(with_line("GET /?next=%2Fa%2Fb HTTP/1.1")).param("next") == "/a/b");
}

TEST_CASE("http parser: percent_decode, parse_query and is_valid_utf8 on their own") {
  std::string out;
  CHECK(percent_decode("a%41%62+c", false, &out));
  CHECK(out == "aAb+c");
  CHECK(percent_decode("a%41%62+c", true, &out));
  CHECK(out == "aAb c");
  CHECK(percent_decode("", true, &out));
  CHECK(out.empty());
  CHECK(percent_decode("%C3%A9", false, &out));
  CHECK(out == "\xC3\xA9");
  CHECK_FALSE(percent_decode("%00", false, &out));
  CHECK_FALSE(percent_decode("%0d%0a", false, &out));
  CHECK_FALSE(percent_decode("a\x01", false, &out));
  CHECK_FALSE(percent_decode("%", false, &out));
  CHECK_FALSE(percent_decode("%a", false, &out));
  CHECK_FALSE(percent_decode("%xy", false, &out));
  CHECK_FALSE(percent_decode("%C3", false, &out));
  CHECK_FALSE(percent_decode("\xFF", false, &out));

  std::vector<std::pair<std::string, std::string>> params;
  CHECK(parse_query("x=1&y", &params));
  CHECK(params == std::vector<std::pair<std::string, std::string>>{{"x", "1"}, {"y", ""}});
  CHECK_FALSE(parse_query("x=%", &params));

  CHECK(is_valid_utf8("plain"));
  CHECK(is_valid_utf8("\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80"));
  CHECK_FALSE(is_valid_utf8("\xC0\xAF"));          // overlong '/'
  CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));      // overlong
  CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));      // surrogate
  CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));  // above U+10FFFF
  CHECK_FALSE(is_valid_utf8("\xE2\x82"));          // cut short
}

TEST_CASE("http parser: header lines are name: value with OWS trimmed, names lower-cased") {
  HttpRequest request = parse_complete(get_with("Empty:\r\nTabbed:\tv\t\r\nObs: caf\xC3\xA9\r\n"));
  CHECK(request.header("empty").empty());
  CHECK(request.has_header("Empty"));
  CHECK(request.header("tabbed") == "v");
  CHECK(request.header("obs") == "caf\xC3\xA9");
  CHECK(parse_complete(get_with("X: a\tb\r\n")).header("x") == "a\tb");  // an inner HTAB is fine
  CHECK(parse_complete(get_with("X:no-space\r\n")).header("x") == "no-space");
  CHECK(parse_complete(get_with("X: a:b\r\n")).header("x") == "a:b");

  CHECK(status_of(get_with("No colon here\r\n")) == 400);
  CHECK(status_of(get_with(": no name\r\n")) == 400);
  CHECK(status_of(get_with("Bad Name: v\r\n")) == 400);
  CHECK(status_of(get_with("Bad(Name): v\r\n")) == 400);
  CHECK(status_of(get_with("Space-Before-Colon : v\r\n")) == 400);
  CHECK(status_of(get_with("Tab-Before-Colon\t: v\r\n")) == 400);
  CHECK(status_of(get_with("X: first\r\n continued\r\n")) == 400);   // obs-fold
  CHECK(status_of(get_with("X: first\r\n\tcontinued\r\n")) == 400);  // obs-fold
  CHECK(status_of("GET / HTTP/1.1\r\n Host: h\r\n\r\n") == 400);     // leading space
  CHECK(status_of(get_with(std::string("X: a\0b\r\n", 8))) == 400);
  CHECK(status_of(get_with(std::string("X\0: v\r\n", 7))) == 400);
  CHECK(status_of(get_with("X: a\x01z\r\n")) == 400);
  CHECK(status_of(get_with("X: a\x7Fz\r\n")) == 400);
  CHECK(status_of(get_with("X: a\x1B[31m\r\n")) == 400);
}

TEST_CASE("http parser: bare CR or LF is 400 at once, wherever it is, before the head ends") {
  // Not timed out: answered as soon as the bad byte arrives.
  CHECK(status_of("GET / HTTP/1.1\n\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: h\r\n\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\rX") == 400);
  CHECK(status_of("GET /a\rb HTTP/1.1\r\n") == 400);
  CHECK(status_of("GET /a\nb HTTP/1.1\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nX-\rName: v\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nX: a\rb\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nX: a\nSet-Cookie: b\r\n") == 400);
  CHECK(status_of("\n") == 400);
  CHECK(status_of("\r\n\n") == 400);
  // A CR at the very end may still be followed by its LF.
  HttpRequest request;
  CHECK(parse("GET / HTTP/1.1\r", &request).state == State::kIncomplete);
  CHECK(parse("GET / HTTP/1.1\r\nHost: h\r\n\r", &request).state == State::kIncomplete);
}

TEST_CASE("http parser: empty lines before the request line are skipped, within the head limit") {
  HttpRequest request = parse_complete("\r\n\r\nGET /x HTTP/1.1\r\nHost: h\r\n\r\n");
  CHECK(request.path == "/x");
  HttpRequest incomplete;
  CHECK(parse("\r\n\r\n", &incomplete).state == State::kIncomplete);
  CHECK(parse("\r\n\r", &incomplete).state == State::kIncomplete);

  HttpRequestLimits limits;
  limits.max_head_bytes = 64;
  std::string blank_lines;
  for (int i = 0; i < 40; ++i) blank_lines += "\r\n";  // 80 bytes: more than the limit
  ApiError error = parse_error(blank_lines, limits);
  CHECK(error.status == 431);
  CHECK(error.code == "headers_too_large");
}

TEST_CASE("http parser: Host is required once on HTTP/1.1, optional on HTTP/1.0, never twice") {
  CHECK(parse_complete("GET / HTTP/1.1\r\nHost: a\r\n\r\n").header("host") == "a");
  CHECK(parse_complete("GET / HTTP/1.0\r\n\r\n").method == "GET");
  CHECK(parse_complete("GET / HTTP/1.0\r\nHost: a\r\n\r\n").header("host") == "a");
  CHECK(status_of("GET / HTTP/1.1\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nX: y\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.1\r\nHost: a\r\nhost: b\r\n\r\n") == 400);
  CHECK(status_of("GET / HTTP/1.0\r\nHost: a\r\nHost: b\r\n\r\n") == 400);
}

TEST_CASE("http parser: Content-Length is one line of plain digits that fit in 63 bits") {
  CHECK(parse_complete(get_with("Content-Length: 5\r\n")).content_length == 5);
  CHECK(parse_complete(get_with("content-length:0\r\n")).content_length == 0);
  CHECK(parse_complete(get_with("Content-Length:  5 \t\r\n")).content_length == 5);  // trimmed
  CHECK(parse_complete(get_with("Content-Length: 007\r\n")).content_length == 7);
  CHECK(parse_complete(get_with("Content-Length: 9223372036854775807\r\n")).content_length ==
        9223372036854775807ull);
  for (const char* headers : {
           "Content-Length: 5\r\nContent-Length: 5\r\n",  // twice, same value
           "Content-Length: 5\r\nContent-Length: 6\r\n",  // twice, different values
           "Content-Length: 5, 5\r\n",                    // a list
           "Content-Length: 5,5\r\n", "Content-Length: +5\r\n", "Content-Length: -1\r\n",
           "Content-Length: 0x30\r\n", "Content-Length: 5 5\r\n", "Content-Length: 5.0\r\n",
           "Content-Length: \r\n", "Content-Length: five\r\n",
           "Content-Length: 9223372036854775808\r\n",  // 2^63
           "Content-Length: 18446744073709551616\r\n",
           "Content-Length: 99999999999999999999\r\n",  // 20 digits
       }) {
    ApiError error = parse_error(get_with(headers));
    CHECK_MESSAGE(error.status == 400, headers);
    CHECK(error.code == "bad_request");
  }
}

TEST_CASE("http parser: Transfer-Encoding in any spelling is 411, with Content-Length 400") {
  for (const char* headers :
       {"Transfer-Encoding: chunked\r\n", "Transfer-Encoding: Chunked\r\n",
        "transfer-encoding:  chunked\r\n", "TRANSFER-ENCODING: chunked\r\n",
        "Transfer-Encoding: gzip, chunked\r\n", "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding:\r\n", "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"}) {
    ApiError error = parse_error(get_with(headers));
    CHECK_MESSAGE(error.status == 411, headers);
    CHECK(error.code == "length_required");
    CHECK(error.detail.find("Content-Length") != std::string::npos);
  }
  // A space before the colon is not a Transfer-Encoding to ignore: the line is refused.
  CHECK(status_of(get_with("Transfer-Encoding : chunked\r\n")) == 400);
  CHECK(status_of(get_with("Transfer-Encoding : chunked\r\nContent-Length: 5\r\n")) == 400);
  // Both framings at once: request smuggling.
  for (const char* headers : {"Content-Length: 5\r\nTransfer-Encoding: chunked\r\n",
                              "Transfer-Encoding: chunked\r\nContent-Length: 5\r\n",
                              "Transfer-Encoding: chunked\r\nContent-Length: 0\r\n"}) {
    ApiError error = parse_error(get_with(headers));
    CHECK_MESSAGE(error.status == 400, headers);
    CHECK(error.code == "bad_request");
  }
}

TEST_CASE("http parser: keep-alive follows the version and the Connection tokens") {
  CHECK(parse_complete(get_with("")).keep_alive);
  CHECK_FALSE(parse_complete(get_with("Connection: close\r\n")).keep_alive);
  CHECK_FALSE(parse_complete(get_with("Connection: Upgrade, CLOSE\r\n")).keep_alive);
  CHECK(parse_complete(get_with("Connection: keep-alive\r\n")).keep_alive);
  CHECK(parse_complete(get_with("Connection: closed\r\n")).keep_alive);  // not the token
  CHECK_FALSE(parse_complete("GET / HTTP/1.0\r\n\r\n").keep_alive);
  CHECK(parse_complete("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive);
  CHECK_FALSE(parse_complete("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n").keep_alive);
}

TEST_CASE("http parser: Expect: 100-continue is reported for HTTP/1.1 requests with a body") {
  CHECK(parse_complete(get_with("Content-Length: 5\r\nExpect: 100-continue\r\n")).expects_continue);
  CHECK(parse_complete(get_with("Content-Length: 5\r\nExpect: 100-Continue\r\n")).expects_continue);
  CHECK_FALSE(
      parse_complete(get_with("Content-Length: 0\r\nExpect: 100-continue\r\n")).expects_continue);
  CHECK_FALSE(parse_complete(get_with("Expect: 100-continue\r\n")).expects_continue);
  CHECK_FALSE(
      parse_complete(get_with("Content-Length: 5\r\nExpect: something\r\n")).expects_continue);
  CHECK_FALSE(parse_complete("POST / HTTP/1.0\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
                  .expects_continue);
}

TEST_CASE("http parser: pipelined input: head_bytes is where the body starts, the rest is left") {
  std::string first = "POST /messages HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n";
  std::string input = first + "hello" + "GET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  HttpRequest request;
  HttpHeadResult result = parse(input, &request);
  REQUIRE(result.state == State::kComplete);
  CHECK(result.head_bytes == first.size());
  CHECK(request.content_length == 5);
  CHECK(request.body.empty());  // the server reads the body
  CHECK(input.substr(result.head_bytes, request.content_length) == "hello");

  HttpRequest next;
  std::string_view rest = std::string_view(input).substr(result.head_bytes + 5);
  HttpHeadResult second = parse(rest, &next);
  REQUIRE(second.state == State::kComplete);
  CHECK(second.head_bytes == rest.size());
  CHECK(next.path == "/next");
}

TEST_CASE("http parser: a head of exactly the limit is accepted, one byte more is 431") {
  HttpRequestLimits limits;
  limits.max_head_bytes = 128;
  // The head counts every byte before the body, the final CRLF CRLF included.
  std::string prefix = "GET / HTTP/1.1\r\nHost: h\r\nX: ";
  std::string value(limits.max_head_bytes - prefix.size() - 4, 'a');
  std::string at_limit = prefix + value + "\r\n\r\n";
  REQUIRE(at_limit.size() == limits.max_head_bytes);
  HttpRequest whole;
  HttpHeadResult whole_result = parse(at_limit, &whole, limits);
  REQUIRE(whole_result.state == State::kComplete);
  CHECK(whole_result.head_bytes == limits.max_head_bytes);
  CHECK(whole.header("x") == value);
  // However it arrives, and with a body behind it.
  size_t used = 0;
  CHECK(feed_bytewise(at_limit, &used, limits) == describe(whole, whole_result));
  CHECK(parse(at_limit + "GET", &whole, limits).head_bytes == limits.max_head_bytes);

  std::string over = prefix + value + "a\r\n\r\n";
  ApiError error = parse_error(over, limits);
  CHECK(error.status == 431);
  CHECK(error.code == "headers_too_large");
  // Refused as soon as the byte past the limit arrives, not when the head ends.
  HttpRequest request;
  CHECK(parse(std::string_view(over).substr(0, limits.max_head_bytes), &request, limits).state ==
        State::kIncomplete);
  CHECK(status_of(std::string_view(over).substr(0, limits.max_head_bytes + 1), limits) == 431);
  // The limit's last byte a CR: the LF that ends the head would be past it.
  CHECK(parse(prefix + value + "a\r\n\r", &request, limits).state == State::kIncomplete);
  CHECK(status_of(prefix + value + "a\r\n\r\n", limits) == 431);
}

TEST_CASE("http parser: an incomplete head never holds more than the limit, blank lines count") {
  // Found by fuzz_request_parser: empty lines before the request line had a budget of their own
  // and the final CRLF CRLF was not counted, so an incomplete head could hold twice the limit.
  HttpRequestLimits limits;
  limits.max_head_bytes = 64;
  const std::string request_head = "GET / HTTP/1.1\r\nHost: h\r\n\r\n";  // 27 bytes
  std::string blank_lines;
  for (int i = 0; i < 18; ++i) blank_lines += "\r\n";
  std::string fits = blank_lines + request_head;  // 63 bytes
  CHECK(parse_complete(fits, limits).path == "/");
  std::string over = blank_lines + "\r\n\r\n" + request_head;  // 67 bytes
  CHECK(status_of(over, limits) == 431);

  std::string long_head = "GET / HTTP/1.1\r\nHost: h\r\nX: " + std::string(60, 'a') + "\r\n\r\n";
  for (const std::string& input : {over, long_head, blank_lines + blank_lines + blank_lines}) {
    for (size_t n = 0; n <= input.size(); ++n) {
      HttpRequest request;
      HttpHeadResult result = parse(std::string_view(input).substr(0, n), &request, limits);
      CAPTURE(n);
      if (result.state == State::kIncomplete) CHECK(n <= limits.max_head_bytes);
      if (n > limits.max_head_bytes) CHECK(result.state == State::kError);
    }
  }
}

TEST_CASE("http parser: a 1 MiB request line is refused once it passes the 16 KiB limit") {
  std::string line = "GET /" + std::string(1 << 20, 'a') + " HTTP/1.1\r\nHost: h\r\n\r\n";
  HttpRequestLimits limits;  // the defaults: 16 KiB
  HttpRequest request;
  size_t fed = 0;
  HttpHeadResult result;
  const size_t chunk = 1024;
  while (fed < line.size()) {
    fed = std::min(line.size(), fed + chunk);
    result = parse(std::string_view(line).substr(0, fed), &request, limits);
    if (result.state != State::kIncomplete) break;
  }
  REQUIRE(result.state == State::kError);
  CHECK(result.error.status == 431);
  CHECK(fed > limits.max_head_bytes);
  CHECK(fed <= limits.max_head_bytes + chunk);
}

TEST_CASE("http parser: 10,000 headers are refused as soon as the count passes the limit") {
  HttpRequestLimits limits;  // max_headers 100
  std::string input = "GET / HTTP/1.1\r\nHost: h\r\n";
  HttpRequest request;
  size_t lines = 1;  // Host
  HttpHeadResult result;
  for (; lines < 10000; ++lines) {
    input += "X-" + std::to_string(lines) + ": v\r\n";
    result = parse(input, &request, limits);
    if (result.state != State::kIncomplete) break;
  }
  REQUIRE(result.state == State::kError);
  CHECK(result.error.status == 431);
  CHECK(result.error.code == "headers_too_large");
  size_t header_lines = lines + 1;  // Host and X-1 .. X-lines
  CHECK(header_lines == limits.max_headers + 1);
  CHECK(input.size() < limits.max_head_bytes);  // the count, not the size, was passed

  // Exactly max_headers is fine.
  std::string at_limit = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (size_t i = 1; i < limits.max_headers; ++i) at_limit += "X-" + std::to_string(i) + ": v\r\n";
  CHECK(parse_complete(at_limit + "\r\n", limits).headers.size() == limits.max_headers);
}

TEST_CASE("http parser: fed a byte at a time, every request ends as it does in one piece") {
  std::vector<std::string> inputs = {
      "GET /a/b?x=1&y=%C3%A9 HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n",
      "\r\nPOST /m HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n",
      "GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET /%2e%2e/x HTTP/1.1\r\nHost: h\r\n\r\n",
      "BREW / HTTP/1.1\r\nHost: h\r\n\r\n",
      "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
  };
  for (const std::string& input : inputs) {
    HttpRequest whole;
    HttpHeadResult whole_result = parse(input, &whole);
    REQUIRE(whole_result.state != State::kIncomplete);
    size_t used = 0;
    CHECK_MESSAGE(feed_bytewise(input, &used) == describe(whole, whole_result), input);
    if (whole_result.state == State::kComplete) CHECK(used == input.size());
  }
}

TEST_CASE("http parser: every prefix of a good head is incomplete, with the request untouched") {
  std::string input = "PUT /x HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n";
  for (size_t n = 0; n < input.size(); ++n) {
    HttpRequest request;
    request.method = "untouched";
    HttpHeadResult result = parse(std::string_view(input).substr(0, n), &request);
    CHECK_MESSAGE(result.state == State::kIncomplete, n);
    CHECK(request.method == "untouched");
  }
}

}  // namespace
}  // namespace relay
