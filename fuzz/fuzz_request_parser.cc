// libFuzzer target: shared/http/http_request.h's parse_request_head, the front door of both
// services. The input is the bytes a client sent on one connection.
// Invariants: a complete head ends in CRLF CRLF within the input and the limits, and holds only
// what the contract promises (no control bytes, one Content-Length, no Transfer-Encoding, a clean
// decoded path); an error has one of the documented statuses; an incomplete head is below the
// head limit; and the answer does not depend on how the bytes arrived — any shorter prefix of a
// complete head is incomplete, a prefix that errs is an error in full too, and once the head is in,
// more bytes do not change it. Pipelined requests after the first are parsed the same way.

#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz/fuzz_check.h"
#include "shared/http/http_request.h"

namespace {

using relay::HttpHeadResult;
using relay::HttpRequest;
using relay::HttpRequestLimits;
using State = HttpHeadResult::State;

constexpr std::string_view kRemote = "192.0.2.7";
constexpr uint64_t kConnection = 42;

bool is_tchar(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
}

bool equals_lower(std::string_view a, std::string_view lower) {
  if (a.size() != lower.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (c != lower[i]) return false;
  }
  return true;
}

// Where the blank line ending a head starts, after any empty lines before the request line (which
// a server may skip, RFC 9112 §2.2); npos when there is none yet.
size_t find_head_end(std::string_view input) {
  size_t lead = 0;
  while (input.substr(lead).starts_with("\r\n")) lead += 2;
  return input.find("\r\n\r\n", lead >= 2 ? lead - 2 : 0);
}

// The value of a string of decimal digits, or -1 past INT64_MAX.
int64_t decimal_value(std::string_view digits) {
  unsigned __int128 value = 0;
  for (char c : digits) {
    value = value * 10 + static_cast<unsigned>(c - '0');
    if (value > static_cast<unsigned __int128>(INT64_MAX)) return -1;
  }
  return static_cast<int64_t>(value);
}

HttpHeadResult parse(std::string_view input, const HttpRequestLimits& limits, HttpRequest* out) {
  out->remote_addr = std::string(kRemote);
  out->connection_id = kConnection;
  return relay::parse_request_head(input, limits, out);
}

bool same_head(const HttpRequest& a, const HttpRequest& b) {
  return a.method == b.method && a.target == b.target && a.path == b.path && a.params == b.params &&
         a.headers == b.headers && a.content_length == b.content_length &&
         a.keep_alive == b.keep_alive && a.http10 == b.http10 &&
         a.expects_continue == b.expects_continue;
}

void check_complete(std::string_view input, const HttpRequestLimits& limits,
                    const HttpHeadResult& result, const HttpRequest& request) {
  FUZZ_CHECK(result.head_bytes >= 4 && result.head_bytes <= input.size());
  FUZZ_CHECK(result.head_bytes <= limits.max_head_bytes);
  FUZZ_CHECK(input.substr(0, result.head_bytes).ends_with("\r\n\r\n"));
  // The head ends at the first blank line.
  FUZZ_CHECK(find_head_end(input) + 4 == result.head_bytes);
  FUZZ_CHECK(request.headers.size() <= limits.max_headers);
  FUZZ_CHECK(request.remote_addr == kRemote && request.connection_id == kConnection);

  FUZZ_CHECK(!request.method.empty());
  for (char c : request.method) FUZZ_CHECK(c >= 'A' && c <= 'Z');
  FUZZ_CHECK(request.target.starts_with('/'));
  for (unsigned char c : request.target) FUZZ_CHECK(c > 0x20 && c < 0x7F);

  const std::string& path = request.path;
  FUZZ_CHECK(path.starts_with('/'));
  FUZZ_CHECK(path.find('\0') == std::string::npos);
  FUZZ_CHECK(relay::is_valid_utf8(path));
  FUZZ_CHECK(path.find("/../") == std::string::npos && !path.ends_with("/.."));
  FUZZ_CHECK(path.find("/./") == std::string::npos && !path.ends_with("/."));
  for (const auto& [key, value] : request.params) {
    FUZZ_CHECK(relay::is_valid_utf8(key) && key.find('\0') == std::string::npos);
    FUZZ_CHECK(relay::is_valid_utf8(value) && value.find('\0') == std::string::npos);
  }

  size_t content_lengths = 0;
  size_t hosts = 0;
  for (const auto& [name, value] : request.headers) {
    FUZZ_CHECK(!name.empty());
    for (unsigned char c : name) FUZZ_CHECK(is_tchar(c));
    for (unsigned char c : value) FUZZ_CHECK(c == '\t' || (c >= 0x20 && c != 0x7F));
    // Optional whitespace around a value is not part of it (RFC 9110 §5.5).
    FUZZ_CHECK(value.empty() || (value.front() != ' ' && value.front() != '\t' &&
                                 value.back() != ' ' && value.back() != '\t'));
    FUZZ_CHECK(name != "transfer-encoding");
    if (name == "content-length") {
      ++content_lengths;
      FUZZ_CHECK(!value.empty());
      for (char c : value) FUZZ_CHECK(c >= '0' && c <= '9');
      int64_t length = decimal_value(value);
      FUZZ_CHECK(length >= 0 && static_cast<uint64_t>(length) == request.content_length);
    }
    if (name == "host") ++hosts;
    if (name == "connection" && equals_lower(value, "close")) FUZZ_CHECK(!request.keep_alive);
  }
  FUZZ_CHECK(content_lengths <= 1 && hosts <= 1);
  FUZZ_CHECK(hosts == 1 || request.http10);
  // 100 Continue is only for an HTTP/1.1 request with a body that asked for it.
  if (request.expects_continue) {
    FUZZ_CHECK(!request.http10 && request.content_length > 0);
    FUZZ_CHECK(equals_lower(request.header("expect"), "100-continue"));
  }
  if (content_lengths == 0) FUZZ_CHECK(request.content_length == 0);
  FUZZ_CHECK(request.header("Content-Length") == request.header("content-length"));
}

void check_result(std::string_view input, const HttpRequestLimits& limits,
                  const HttpHeadResult& result, const HttpRequest& request) {
  switch (result.state) {
    case State::kComplete:
      check_complete(input, limits, result, request);
      break;
    case State::kError: {
      int status = result.error.status;
      FUZZ_CHECK(status == 400 || status == 411 || status == 431 || status == 501 || status == 505);
      FUZZ_CHECK(!result.error.code.empty());
      break;
    }
    case State::kIncomplete:
      // A limit is checked as bytes arrive: an incomplete head has not passed it.
      FUZZ_CHECK(input.size() <= limits.max_head_bytes);
      FUZZ_CHECK(find_head_end(input) == std::string_view::npos);
      break;
  }
}

// The answer for `prefix` of the input must agree with the answer for the whole of it.
void check_prefix(std::string_view input, size_t prefix_size, const HttpRequestLimits& limits,
                  const HttpHeadResult& whole, const HttpRequest& whole_request) {
  HttpRequest request;
  HttpHeadResult result = parse(input.substr(0, prefix_size), limits, &request);
  check_result(input.substr(0, prefix_size), limits, result, request);
  if (whole.state == State::kIncomplete) FUZZ_CHECK(result.state == State::kIncomplete);
  if (result.state == State::kError) FUZZ_CHECK(whole.state == State::kError);
  if (whole.state == State::kComplete) {
    if (prefix_size < whole.head_bytes) {
      FUZZ_CHECK(result.state == State::kIncomplete);
    } else {
      FUZZ_CHECK(result.state == State::kComplete);
      FUZZ_CHECK(result.head_bytes == whole.head_bytes);
      FUZZ_CHECK(same_head(request, whole_request));
    }
  }
  if (result.state == State::kComplete) {
    FUZZ_CHECK(whole.state == State::kComplete && whole.head_bytes == result.head_bytes);
  }
}

void check_input(std::string_view input, const HttpRequestLimits& limits) {
  HttpRequest request;
  HttpHeadResult result = parse(input, limits, &request);
  check_result(input, limits, result, request);

  // The same bytes arriving in two reads: cut where the input itself says.
  relay::fuzz::InputRandom random(input);
  check_prefix(input, random.below(input.size() + 1), limits, result, request);
  if (result.state == State::kComplete) {
    check_prefix(input, result.head_bytes - 1, limits, result, request);
    check_prefix(input, result.head_bytes, limits, result, request);
  }
  // Parsing is pure: the same input gives the same answer.
  HttpRequest again;
  HttpHeadResult repeat = parse(input, limits, &again);
  FUZZ_CHECK(repeat.state == result.state && repeat.head_bytes == result.head_bytes);
  FUZZ_CHECK(repeat.state != State::kComplete || same_head(again, request));
  FUZZ_CHECK(repeat.state != State::kError || repeat.error.status == result.error.status);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  const HttpRequestLimits defaults;
  const HttpRequestLimits tight{.max_head_bytes = 200, .max_headers = 4};

  // Pipelined requests: after a complete head and its body comes the next request.
  std::string_view rest = input;
  for (int requests = 0; requests < 8 && !rest.empty(); ++requests) {
    check_input(rest, defaults);
    HttpRequest request;
    HttpHeadResult result = parse(rest, defaults, &request);
    if (result.state != State::kComplete) break;
    size_t consumed = result.head_bytes;
    if (request.content_length > rest.size() - consumed) break;
    rest.remove_prefix(consumed + request.content_length);
  }
  check_input(input, tight);
  return 0;
}
