#include "shared/http/http_request.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <limits>
#include <optional>

#include "shared/http_rules.h"

namespace relay {

namespace {

char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = lower_ascii(c);
  return out;
}

bool is_ows(char c) {
  return c == ' ' || c == '\t';
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && is_ows(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_ows(text.back())) text.remove_suffix(1);
  return text;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// True for a control byte (C0 or DEL) other than HTAB: what no header value may hold.
bool is_value_ctl(char c) {
  auto u = static_cast<unsigned char>(c);
  return (u < 0x20 && c != '\t') || u == 0x7F;
}

constexpr std::array<std::string_view, 7> kKnownMethods = {"GET",    "HEAD",    "POST", "PUT",
                                                           "DELETE", "OPTIONS", "PATCH"};

ApiError bad_request(std::string detail) {
  return ApiError{400, "bad_request", std::move(detail)};
}

ApiError too_large(std::string detail) {
  return ApiError{431, "headers_too_large", std::move(detail)};
}

HttpHeadResult fail(ApiError error) {
  HttpHeadResult result;
  result.state = HttpHeadResult::State::kError;
  result.error = std::move(error);
  return result;
}

// Calls `each` with every segment of a path that starts with '/' ("/a/b" gives "a", "b"); stops
// and returns false as soon as `each` does.
template <typename Each>
bool for_each_segment(std::string_view path, Each each) {
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    if (!each(path.substr(pos, end - pos))) return false;
    pos = end + 1;
  }
  return true;
}

bool is_dot_segment(std::string_view segment) {
  return segment == "." || segment == "..";
}

// Checks the path part of an origin-form target and decodes it into `out`; "" when fine, else
// the detail of the 400.
std::string decode_path(std::string_view raw, std::string* out) {
  if (raw.find('\\') != std::string_view::npos) return "the request path holds a backslash";
  for (size_t i = 0; i + 2 < raw.size(); ++i) {
    if (raw[i] != '%') continue;
    int high = hex_value(raw[i + 1]);
    int low = hex_value(raw[i + 2]);
    if (high < 0 || low < 0) continue;  // percent_decode refuses it below
    int byte = high * 16 + low;
    if (byte == '/' || byte == '\\') {
      return "the request path holds an encoded slash or backslash (%2F, %5C)";
    }
  }
  if (!for_each_segment(raw, [](std::string_view s) { return !is_dot_segment(s); })) {
    return "the request path holds a '.' or '..' segment";
  }
  if (!percent_decode(raw, false, out)) {
    return "the request path holds a malformed escape, a control character or invalid UTF-8";
  }
  if (std::find(out->begin(), out->end(), '\x7F') != out->end()) {
    return "the request path holds a control character";
  }
  if (!for_each_segment(*out, [](std::string_view s) { return !is_dot_segment(s); })) {
    return "the request path holds an encoded '.' or '..' segment";
  }
  return {};
}

// What the header lines said about framing and connection handling, gathered line by line.
struct HeadFacts {
  size_t host_lines = 0;
  size_t content_length_lines = 0;
  bool content_length_valid = true;
  uint64_t content_length = 0;
  bool transfer_encoding = false;
};

// Parses a Content-Length value: digits only after the OWS trim, at most 2^63 - 1.
bool parse_content_length(std::string_view text, uint64_t* out) {
  if (text.empty()) return false;
  constexpr uint64_t kMax = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
  uint64_t value = 0;
  for (char c : text) {
    if (!is_digit(c)) return false;
    uint64_t digit = static_cast<uint64_t>(c - '0');
    if (value > (kMax - digit) / 10) return false;
    value = value * 10 + digit;
  }
  *out = value;
  return true;
}

// Parses "METHOD SP target SP version" into `parsed`; the error when it is not acceptable.
std::optional<ApiError> parse_request_line(std::string_view line, HttpRequest* parsed) {
  size_t first_space = line.find(' ');
  size_t second_space =
      first_space == std::string_view::npos ? first_space : line.find(' ', first_space + 1);
  if (second_space == std::string_view::npos ||
      line.find(' ', second_space + 1) != std::string_view::npos) {
    return bad_request("the request line must be: METHOD /path HTTP/1.1, with single spaces");
  }
  std::string_view method = line.substr(0, first_space);
  std::string_view target = line.substr(first_space + 1, second_space - first_space - 1);
  std::string_view version = line.substr(second_space + 1);

  if (!is_http_token(method)) return bad_request("the request method is not a valid token");
  if (std::find(kKnownMethods.begin(), kKnownMethods.end(), method) == kKnownMethods.end()) {
    return ApiError{
        501, "not_implemented",
        "the method is not one this server knows (GET, HEAD, POST, PUT, DELETE, OPTIONS, "
        "PATCH)"};
  }
  if (version == "HTTP/1.1" || version == "HTTP/1.0") {
    parsed->http10 = version == "HTTP/1.0";
  } else if (version.size() == 8 && version.substr(0, 5) == "HTTP/" && is_digit(version[5]) &&
             version[6] == '.' && is_digit(version[7])) {
    return ApiError{505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served"};
  } else {
    return bad_request("the request line must end in HTTP/1.1 or HTTP/1.0");
  }
  if (target.empty() || target.front() != '/') {
    return bad_request("the request target must be a path starting with / (origin-form)");
  }
  for (char c : target) {
    auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7F) {
      return bad_request(
          "the request target holds a control character, a space or an unencoded non-ASCII "
          "byte");
    }
    if (c == '#') return bad_request("the request target holds a fragment (#)");
  }

  parsed->method = std::string(method);
  parsed->target = std::string(target);
  size_t question = target.find('?');
  std::string detail = decode_path(target.substr(0, question), &parsed->path);
  if (!detail.empty()) return bad_request(std::move(detail));
  if (question != std::string_view::npos &&
      !parse_query(target.substr(question + 1), &parsed->params)) {
    return bad_request("the query holds a malformed escape, a control character or invalid UTF-8");
  }
  return {};
}

// Parses one header line into `parsed` and `facts`; the error when it is not acceptable.
std::optional<ApiError> parse_header_line(std::string_view line, HttpRequest* parsed,
                                          HeadFacts* facts) {
  if (is_ows(line.front())) {
    return bad_request("a header line starts with whitespace (obs-fold is not accepted)");
  }
  size_t colon = line.find(':');
  if (colon == std::string_view::npos) return bad_request("a header line has no name: value form");
  std::string_view name = line.substr(0, colon);
  if (!name.empty() && is_ows(name.back())) {
    return bad_request("a header name is followed by whitespace before its colon");
  }
  if (!is_http_token(name)) return bad_request("a header name is not a valid token");
  std::string_view value = trim_ows(line.substr(colon + 1));
  if (std::any_of(value.begin(), value.end(), is_value_ctl)) {
    return bad_request("a header value holds a control character");
  }
  std::string lower_name = to_lower(name);
  if (lower_name == "host") {
    ++facts->host_lines;
  } else if (lower_name == "content-length") {
    ++facts->content_length_lines;
    if (!parse_content_length(value, &facts->content_length)) facts->content_length_valid = false;
  } else if (lower_name == "transfer-encoding") {
    facts->transfer_encoding = true;
  }
  parsed->headers.emplace_back(std::move(lower_name), std::string(value));
  return {};
}

// True when the comma-separated header values of `name` hold `token` (case-insensitive).
bool has_token(const HttpRequest& request, std::string_view name, std::string_view token) {
  for (const auto& [key, value] : request.headers) {
    if (key != name) continue;
    std::string_view rest = value;
    while (true) {
      size_t comma = rest.find(',');
      if (equals_ignoring_case(trim_ows(rest.substr(0, comma)), token)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

// The checks that need every header line; the error when the head is not acceptable.
std::optional<ApiError> finish_head(const HeadFacts& facts, HttpRequest* parsed) {
  if (facts.host_lines > 1) return bad_request("the request has more than one Host header");
  if (facts.host_lines == 0 && !parsed->http10) {
    return bad_request("an HTTP/1.1 request must have a Host header");
  }
  if (facts.transfer_encoding && facts.content_length_lines > 0) {
    return bad_request("the request has both Transfer-Encoding and Content-Length");
  }
  if (facts.transfer_encoding) {
    return ApiError{411, "length_required",
                    "send the request body with Content-Length; Transfer-Encoding (chunked "
                    "request bodies) is not accepted"};
  }
  if (facts.content_length_lines > 1) {
    return bad_request("the request has more than one Content-Length header");
  }
  if (!facts.content_length_valid) {
    return bad_request("Content-Length must be one whole number of bytes (digits only)");
  }
  if (facts.content_length > std::numeric_limits<size_t>::max()) {
    return bad_request("Content-Length is too large");
  }
  parsed->content_length = static_cast<size_t>(facts.content_length);
  parsed->keep_alive = parsed->http10 ? has_token(*parsed, "connection", "keep-alive") &&
                                            !has_token(*parsed, "connection", "close")
                                      : !has_token(*parsed, "connection", "close");
  // HTTP/1.0 clients cannot ask for 100 Continue (RFC 9110 10.1.1).
  parsed->expects_continue = !parsed->http10 && parsed->content_length > 0 &&
                             equals_ignoring_case(parsed->header("expect"), "100-continue");
  return {};
}

}  // namespace

std::string HttpRequest::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equals_ignoring_case(key, name)) return value;
  }
  return {};
}

bool HttpRequest::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [name](const auto& entry) { return equals_ignoring_case(entry.first, name); });
}

std::string HttpRequest::param(std::string_view name) const {
  for (const auto& [key, value] : params) {
    if (key == name) return value;
  }
  return {};
}

bool HttpRequest::has_param(std::string_view name) const {
  return std::any_of(params.begin(), params.end(),
                     [name](const auto& entry) { return entry.first == name; });
}

bool percent_decode(std::string_view text, bool plus_is_space, std::string* out) {
  out->clear();
  out->reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%') {
      if (i + 2 >= text.size()) return false;
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high < 0 || low < 0) return false;
      c = static_cast<char>(high * 16 + low);
      i += 2;
    } else if (plus_is_space && c == '+') {
      c = ' ';
    }
    if (static_cast<unsigned char>(c) < 0x20) return false;
    out->push_back(c);
  }
  return is_valid_utf8(*out);
}

bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>* out) {
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    std::string name;
    std::string value;
    if (!percent_decode(pair.substr(0, equals), true, &name)) return false;
    if (equals != std::string_view::npos &&
        !percent_decode(pair.substr(equals + 1), true, &value)) {
      return false;
    }
    out->emplace_back(std::move(name), std::move(value));
  }
  return true;
}

// is_valid_utf8 is defined in shared/validation.cc (declared in validation.h with the same
// contract).

// One pass over the input: each line is checked as soon as its CRLF has arrived, and the limits
// as soon as a byte passes them, so a call costs O(bytes of the head so far) and a hostile head is
// refused while it arrives. The server calls this again only when new bytes came in; the repeated
// work of a head dripping in small pieces is bounded by max_head_bytes per call.
HttpHeadResult parse_request_head(std::string_view input, const HttpRequestLimits& limits,
                                  HttpRequest* request) {
  // Every byte of the head counts against the limit, the empty lines before the request line and
  // the blank line ending it included: only the first max_head_bytes are ever looked at, and when
  // they end without a complete head while more input is there, the head is too large.
  const std::string_view head = input.substr(0, limits.max_head_bytes);
  auto needs_more = [&]() -> HttpHeadResult {
    if (input.size() > head.size()) {
      return fail(too_large("the request head is larger than " +
                            std::to_string(limits.max_head_bytes) + " bytes"));
    }
    return {};
  };
  // Tolerate empty lines before a request (RFC 9112 2.2).
  size_t start = 0;
  while (start + 1 < head.size() && head[start] == '\r' && head[start + 1] == '\n') start += 2;

  HttpRequest parsed;
  HeadFacts facts;
  size_t header_lines = 0;
  bool request_line_done = false;
  size_t pos = start;
  while (true) {
    size_t line_start = pos;
    while (pos < head.size() && head[pos] != '\r' && head[pos] != '\n') ++pos;
    if (pos == head.size()) return needs_more();
    if (head[pos] == '\n') {
      return fail(bad_request("the request head holds a bare LF (not after CR)"));
    }
    if (pos + 1 == head.size()) return needs_more();
    if (head[pos + 1] != '\n') {
      return fail(bad_request("the request head holds a bare CR (not before LF)"));
    }
    std::string_view line = head.substr(line_start, pos - line_start);
    pos += 2;
    if (line.empty()) break;  // the blank line: the head is complete (never the request line)
    if (!request_line_done) {
      if (auto error = parse_request_line(line, &parsed)) return fail(std::move(*error));
      request_line_done = true;
      continue;
    }
    if (++header_lines > limits.max_headers) {
      return fail(too_large("the request has more than " + std::to_string(limits.max_headers) +
                            " headers"));
    }
    if (auto error = parse_header_line(line, &parsed, &facts)) return fail(std::move(*error));
  }

  if (auto error = finish_head(facts, &parsed)) return fail(std::move(*error));
  parsed.remote_addr = std::move(request->remote_addr);
  parsed.connection_id = request->connection_id;
  *request = std::move(parsed);
  HttpHeadResult result;
  result.state = HttpHeadResult::State::kComplete;
  result.head_bytes = pos;
  return result;
}

}  // namespace relay
