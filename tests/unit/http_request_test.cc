// Unit tests for notify-service's incremental HTTP/1.x request parser.
#include <doctest/doctest.h>

#include <string>
#include <string_view>
#include <vector>

#include "notify-service/http_request.h"

namespace relay {
namespace {

using State = HttpParseResult::State;

HttpRequestLimits small_limits() {
  HttpRequestLimits limits;
  limits.max_head_bytes = 256;
  limits.max_body_bytes = 64;
  return limits;
}

HttpParseResult parse(std::string_view input, HttpRequest* request,
                      const HttpRequestLimits& limits = small_limits()) {
  return parse_http_request(input, limits, request);
}

// Parses `input`, REQUIREs a complete request and returns it.
HttpRequest parse_complete(std::string_view input,
                           const HttpRequestLimits& limits = small_limits()) {
  HttpRequest request;
  HttpParseResult result = parse(input, &request, limits);
  REQUIRE_MESSAGE(result.state == State::kComplete,
                  "error " << result.error.status << " " << result.error.detail);
  CHECK(result.consumed == input.size());
  return request;
}

// Parses `input` and REQUIREs an error; returns it.
ApiError parse_error(std::string_view input, const HttpRequestLimits& limits = small_limits()) {
  HttpRequest request;
  HttpParseResult result = parse(input, &request, limits);
  REQUIRE(result.state == State::kError);
  CHECK(result.error.status >= 400);
  CHECK_FALSE(result.error.code.empty());
  CHECK_FALSE(result.error.detail.empty());
  return result.error;
}

// Everything a parse produced, to compare two parses of the same request.
std::string describe(const HttpRequest& request, const HttpParseResult& result) {
  std::string out = std::to_string(static_cast<int>(result.state)) +
                    " consumed=" + std::to_string(result.consumed) +
                    " error=" + std::to_string(result.error.status) + ":" + result.error.code +
                    "\n" + request.method + " " + request.path +
                    " keep_alive=" + (request.keep_alive ? "1" : "0") +
                    " http10=" + (request.http10 ? "1" : "0") + " remote=" + request.remote_addr +
                    " id=" + std::to_string(request.connection_id) + "\n";
  for (const auto& [name, value] : request.params) out += "param " + name + "=" + value + "\n";
  for (const auto& [name, value] : request.headers) out += "header " + name + ": " + value + "\n";
  return out + "body " + request.body;
}

// Feeds every prefix of `input` (as a connection's buffer grows byte by byte): every proper prefix
// must be incomplete without consuming anything, and the whole input must give the same result
// as parsing it in one go.
void check_split_everywhere(std::string_view input,
                            const HttpRequestLimits& limits = small_limits()) {
  HttpRequest whole_request;
  whole_request.remote_addr = "127.0.0.1";
  whole_request.connection_id = 42;
  HttpParseResult whole = parse_http_request(input, limits, &whole_request);
  for (size_t length = 0; length < input.size(); ++length) {
    CAPTURE(length);
    HttpRequest request;
    HttpParseResult partial = parse_http_request(input.substr(0, length), limits, &request);
    if (whole.state == State::kError && partial.state == State::kError) {
      // An error may show before the end (a bad request line does not need the headers).
      CHECK(partial.error.status == whole.error.status);
      return;
    }
    REQUIRE_MESSAGE(partial.state == State::kIncomplete,
                    "prefix of " << length << " bytes: " << describe(request, partial));
    CHECK(partial.consumed == 0);
    CHECK(request.method.empty());
  }
  HttpRequest request;
  request.remote_addr = "127.0.0.1";
  request.connection_id = 42;
  HttpParseResult last = parse_http_request(input, limits, &request);
  CHECK(describe(request, last) == describe(whole_request, whole));
}

}  // namespace

TEST_CASE("http request: a complete GET is parsed into method, path, headers and keep-alive") {
  HttpRequest request;
  request.remote_addr = "10.0.0.7";
  request.connection_id = 99;
  std::string input = "GET /events HTTP/1.1\r\nHost: example\r\nAccept: text/event-stream\r\n\r\n";
  HttpParseResult result = parse(input, &request);
  REQUIRE(result.state == State::kComplete);
  CHECK(result.consumed == input.size());
  CHECK_FALSE(result.expects_continue);
  CHECK(request.method == "GET");
  CHECK(request.path == "/events");
  CHECK(request.params.empty());
  CHECK(request.header("host") == "example");
  CHECK(request.header("accept") == "text/event-stream");
  CHECK(request.body.empty());
  CHECK(request.keep_alive);
  CHECK_FALSE(request.http10);
  // What the connection knew before the parse survives it.
  CHECK(request.remote_addr == "10.0.0.7");
  CHECK(request.connection_id == 99);
}

TEST_CASE("http request: a POST body is read by Content-Length") {
  HttpRequest request = parse_complete(
      "POST /notify HTTP/1.1\r\nContent-Type: application/json\r\nContent-Length: 9\r\n\r\n"
      "{\"id\":17}");
  CHECK(request.method == "POST");
  CHECK(request.path == "/notify");
  CHECK(request.body == "{\"id\":17}");

  // Content-Length: 0 and no Content-Length both mean an empty body.
  CHECK(parse_complete("POST /notify HTTP/1.1\r\nContent-Length: 0\r\n\r\n").body.empty());
  CHECK(parse_complete("POST /notify HTTP/1.1\r\n\r\n").body.empty());
  // A request line alone, and empty lines before a request (RFC 9112 2.2), are fine.
  CHECK(parse_complete("GET / HTTP/1.1\r\n\r\n").path == "/");
  CHECK(parse_complete("\r\n\r\nGET /health HTTP/1.1\r\n\r\n").path == "/health");
  // Any token is a method: the routes answer 405 for the ones they do not take.
  CHECK(parse_complete("BREW /pot HTTP/1.1\r\n\r\n").method == "BREW");
}

TEST_CASE("http request: a request split at every byte boundary is incomplete until its end") {
  check_split_everywhere("GET /events?channels=a,b&user=J+Doe HTTP/1.1\r\nHost: x\r\n\r\n");
  check_split_everywhere(
      "POST /notify HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
  check_split_everywhere("GET /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
  check_split_everywhere("\r\nGET /health HTTP/1.1\r\n\r\n");
  // A body of exactly the limit.
  check_split_everywhere("POST /notify HTTP/1.1\r\nContent-Length: 64\r\n\r\n" +
                         std::string(64, 'b'));
}

TEST_CASE("http request: a head of exactly the limit is accepted however it arrives") {
  HttpRequestLimits limits = small_limits();
  std::string head = "GET /health HTTP/1.1\r\nX-Fill: ";
  head += std::string(limits.max_head_bytes - head.size(), 'f');
  REQUIRE(head.size() == limits.max_head_bytes);
  std::string input = head + "\r\n\r\n";
  parse_complete(input, limits);
  check_split_everywhere(input, limits);
}

TEST_CASE("http request: pipelined requests are parsed one at a time and consumed") {
  std::string first = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string second = "POST /notify HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc";
  std::string third = "GET /metrics HTTP/1.1\r\nConnection: close\r\n\r\n";
  std::string buffer = first + second + third + "GET /partial HT";

  std::vector<std::string> paths;
  while (true) {
    HttpRequest request;
    HttpParseResult result = parse(buffer, &request);
    if (result.state != State::kComplete) {
      CHECK(result.state == State::kIncomplete);
      break;
    }
    REQUIRE(result.consumed > 0);
    REQUIRE(result.consumed <= buffer.size());
    if (request.path == "/notify") CHECK(request.body == "abc");
    paths.push_back(request.path);
    buffer.erase(0, result.consumed);
  }
  CHECK(paths == std::vector<std::string>{"/health", "/notify", "/metrics"});
  CHECK(buffer == "GET /partial HT");

  HttpRequest request;
  CHECK(parse(first + second, &request).consumed == first.size());
}

TEST_CASE("http request: the query is split and percent-decoded, the path is decoded") {
  HttpRequest request = parse_complete(
      "GET /events?channels=a%2Cb&user=J+Doe&flag&empty=&channels=c&%41%62=%7a%7A&&pct=100%25"
      " HTTP/1.1\r\n\r\n");
  CHECK(request.path == "/events");
  using Params = std::vector<std::pair<std::string, std::string>>;
  CHECK(request.params == Params{{"channels", "a,b"},
                                 {"user", "J Doe"},
                                 {"flag", ""},
                                 {"empty", ""},
                                 {"channels", "c"},
                                 {"Ab", "zz"},
                                 {"pct", "100%"}});
  CHECK(request.param("channels") == "a,b");  // the first of repeated parameters
  CHECK(request.param("flag").empty());
  CHECK(request.param("absent").empty());

  // '+' is a space only in the query; invalid escapes stay as they are.
  HttpRequest path = parse_complete("GET /a%20b+c%2F?x=%ZZ%4&y=%+ HTTP/1.1\r\n\r\n");
  CHECK(path.path == "/a b+c/");
  CHECK(path.param("x") == "%ZZ%4");
  CHECK(path.param("y") == "% ");

  CHECK(percent_decode("a+b%21", false) == "a+b!");
  CHECK(percent_decode("a+b%21", true) == "a b!");
  CHECK(percent_decode("%", true) == "%");
  CHECK(percent_decode("%4", true) == "%4");
  CHECK(percent_decode("%41", true) == "A");
  CHECK(percent_decode("%g1%1g", true) == "%g1%1g");
}

TEST_CASE("http request: header names are case-insensitive and values are trimmed") {
  HttpRequest request = parse_complete(
      "GET / HTTP/1.1\r\nX-Thing: \t  padded value \t\r\nLAST-EVENT-ID:42\r\n"
      "x-thing: second\r\nEmpty:\r\n\r\n");
  CHECK(request.header("x-thing") == "padded value");
  CHECK(request.header("X-THING") == "padded value");  // the first of repeated headers
  CHECK(request.header("Last-Event-ID") == "42");
  CHECK(request.has_header("empty"));
  CHECK(request.header("Empty").empty());
  CHECK_FALSE(request.has_header("absent"));
  for (const auto& [name, value] : request.headers) {
    for (char c : name) CHECK_FALSE((c >= 'A' && c <= 'Z'));
  }
  CHECK(request.headers.size() == 4);
}

TEST_CASE("http request: keep-alive follows the HTTP version and the Connection header") {
  struct Case {
    std::string version;
    std::string connection;  // "" = no header
    bool keep_alive;
  };
  for (const Case& c : std::vector<Case>{
           {"HTTP/1.1", "", true},
           {"HTTP/1.1", "close", false},
           {"HTTP/1.1", "Close", false},
           {"HTTP/1.1", "keep-alive", true},
           {"HTTP/1.0", "", false},
           {"HTTP/1.0", "keep-alive", true},
           {"HTTP/1.0", "Keep-Alive", true},
           {"HTTP/1.0", "close", false},
       }) {
    CAPTURE(c.version);
    CAPTURE(c.connection);
    std::string input = "GET /health " + c.version + "\r\n";
    if (!c.connection.empty()) input += "Connection: " + c.connection + "\r\n";
    HttpRequest request = parse_complete(input + "\r\n");
    CHECK(request.keep_alive == c.keep_alive);
    CHECK(request.http10 == (c.version == "HTTP/1.0"));
  }
}

TEST_CASE("http request: Expect: 100-continue is reported once the head is in, not the body") {
  std::string head = "POST /notify HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 5\r\n\r\n";
  HttpRequest request;
  // Before the head is complete nothing is known.
  CHECK_FALSE(parse(head.substr(0, head.size() - 1), &request).expects_continue);
  HttpParseResult waiting = parse(head, &request);
  CHECK(waiting.state == State::kIncomplete);
  CHECK(waiting.expects_continue);
  CHECK(waiting.consumed == 0);
  waiting = parse(head + "ab", &request);
  CHECK(waiting.state == State::kIncomplete);
  CHECK(waiting.expects_continue);

  HttpParseResult done = parse(head + "abcde", &request);
  CHECK(done.state == State::kComplete);
  CHECK(request.body == "abcde");

  // Without the header (or with another expectation) there is nothing to answer early.
  HttpRequest plain;
  CHECK_FALSE(parse("POST /notify HTTP/1.1\r\nContent-Length: 5\r\n\r\n", &plain).expects_continue);
  CHECK_FALSE(
      parse("POST /notify HTTP/1.1\r\nExpect: something\r\nContent-Length: 5\r\n\r\n", &plain)
          .expects_continue);
  // HTTP/1.0 clients cannot ask for it.
  CHECK_FALSE(
      parse("POST /notify HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", &plain)
          .expects_continue);
}

TEST_CASE("http request: empty lines before the request line count toward the head limit") {
  HttpRequest request;
  std::string many_empty_lines;
  for (int i = 0; i < 9000; ++i) many_empty_lines += "\r\n";
  HttpParseResult result = parse(many_empty_lines, &request);
  CHECK(result.state == State::kError);
  CHECK(result.error.status == 431);
  CHECK(parse("\r\n\r\nGET /health HTTP/1.1\r\n\r\n", &request).state == State::kComplete);
}

TEST_CASE("http request: malformed request lines are refused with 400 or 505") {
  for (std::string_view input : {
           "GARBAGE\r\n\r\n",
           "GET /\r\n\r\n",
           "GET\r\n\r\n",
           " / HTTP/1.1\r\n\r\n",
       }) {
    CAPTURE(input);
    ApiError error = parse_error(input);
    CHECK(error.status == 400);
    CHECK(error.code == "bad_request");
  }
  for (std::string_view input :
       {"G(T / HTTP/1.1\r\n\r\n", "GE\x01T / HTTP/1.1\r\n\r\n", "G\"T / HTTP/1.1\r\n\r\n"}) {
    CAPTURE(input);
    ApiError error = parse_error(input);
    CHECK(error.status == 400);
    CHECK(error.detail.find("method") != std::string::npos);
  }
  for (std::string_view input : {"GET / HTTP/2.0\r\n\r\n", "GET / HTTP/1.2\r\n\r\n",
                                 "GET / HTTP/0.9\r\n\r\n", "GET / http/1.1\r\n\r\n"}) {
    CAPTURE(input);
    ApiError error = parse_error(input);
    CHECK(error.status == 505);
    CHECK(error.code == "http_version_not_supported");
  }
  for (std::string_view input :
       {"GET http://example/ HTTP/1.1\r\n\r\n", "OPTIONS * HTTP/1.1\r\n\r\n",
        "GET events HTTP/1.1\r\n\r\n", "GET  /events HTTP/1.1\r\n\r\n"}) {
    CAPTURE(input);
    ApiError error = parse_error(input);
    CHECK(error.status == 400);
    CHECK(error.detail.find("/") != std::string::npos);
  }
}

TEST_CASE("http request: malformed headers and Content-Length values are refused with 400") {
  for (std::string_view input : {
           "GET / HTTP/1.1\r\nNoColonHere\r\n\r\n",
           "GET / HTTP/1.1\r\n: no name\r\n\r\n",
           "GET / HTTP/1.1\r\nHost: x\r\n folded continuation\r\n\r\n",
           "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
           "GET / HTTP/1.1\r\nHost : x\r\n\r\n",
       }) {
    CAPTURE(input);
    ApiError error = parse_error(input);
    CHECK(error.status == 400);
    CHECK(error.code == "bad_request");
  }
  for (std::string_view value :
       {"abc", "-1", "+5", "5x", "1 2", "", "0x10", "99999999999999999999999999"}) {
    CAPTURE(value);
    std::string input =
        "POST /notify HTTP/1.1\r\nContent-Length: " + std::string(value) + "\r\n\r\n";
    ApiError error = parse_error(input);
    CHECK(error.status == 400);
    CHECK(error.detail.find("Content-Length") != std::string::npos);
  }
  // Surrounding blanks are not part of the value.
  CHECK(parse_complete("POST /notify HTTP/1.1\r\nContent-Length:  2 \r\n\r\nok").body == "ok");
}

TEST_CASE("http request: Transfer-Encoding is refused with 411 before any body is read") {
  for (std::string_view input : {
           "POST /notify HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
           "POST /notify HTTP/1.1\r\ntransfer-encoding: gzip, chunked\r\n\r\n5\r\nhello\r\n",
           "POST /notify HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
       }) {
    CAPTURE(input);
    ApiError error = parse_error(input);
    CHECK(error.status == 411);
    CHECK(error.code == "length_required");
  }
}

TEST_CASE("http request: a head over the limit is refused with 431, ended or not") {
  HttpRequestLimits limits = small_limits();
  std::string long_header = "X-Long: " + std::string(limits.max_head_bytes, 'a');
  // Complete, with the blank line.
  ApiError ended = parse_error("GET / HTTP/1.1\r\n" + long_header + "\r\n\r\n", limits);
  CHECK(ended.status == 431);
  CHECK(ended.code == "headers_too_large");
  // Without the blank line: the parser must not wait for more of an endless head.
  ApiError endless = parse_error("GET / HTTP/1.1\r\n" + long_header, limits);
  CHECK(endless.status == 431);
  CHECK(endless.code == "headers_too_large");
  // A long request target counts too.
  ApiError target = parse_error("GET /" + std::string(limits.max_head_bytes, 'p'), limits);
  CHECK(target.status == 431);

  // One byte under is only incomplete.
  HttpRequest request;
  std::string almost = "GET / HTTP/1.1\r\nX: ";
  almost += std::string(limits.max_head_bytes - almost.size(), 'a');
  CHECK(parse(almost, &request, limits).state == State::kIncomplete);
}

TEST_CASE("http request: a body over the limit is refused with 413 as soon as the head is read") {
  HttpRequestLimits limits = small_limits();
  std::string head =
      "POST /notify HTTP/1.1\r\nContent-Length: " + std::to_string(limits.max_body_bytes + 1) +
      "\r\n\r\n";
  ApiError error = parse_error(head, limits);
  CHECK(error.status == 413);
  CHECK(error.code == "payload_too_large");
  CHECK(error.detail.find(std::to_string(limits.max_body_bytes)) != std::string::npos);
  // Also with Expect: the client is told now instead of being asked to send it.
  HttpRequest request;
  HttpParseResult expecting =
      parse("POST /notify HTTP/1.1\r\nExpect: 100-continue\r\nContent-Length: 1000\r\n\r\n",
            &request, limits);
  CHECK(expecting.state == State::kError);
  CHECK(expecting.error.status == 413);
  // Exactly the limit is fine.
  CHECK(parse_complete("POST /notify HTTP/1.1\r\nContent-Length: 64\r\n\r\n" +
                           std::string(limits.max_body_bytes, 'x'),
                       limits)
            .body.size() == limits.max_body_bytes);
}

}  // namespace relay
