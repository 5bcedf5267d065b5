#include "notify-service/http_request.h"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "shared/http_rules.h"

namespace relay {

namespace {

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string to_lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

HttpParseResult fail(ApiError error) {
  HttpParseResult result;
  result.state = HttpParseResult::State::kError;
  result.error = std::move(error);
  return result;
}

HttpParseResult fail(int status, std::string code, std::string detail) {
  return fail(ApiError{status, std::move(code), std::move(detail)});
}

HttpParseResult bad_request(std::string detail) {
  return fail(400, "bad_request", std::move(detail));
}

void parse_query(std::string_view query, HttpRequest* request) {
  while (!query.empty()) {
    size_t end = query.find('&');
    std::string_view pair = query.substr(0, end);
    query = end == std::string_view::npos ? std::string_view() : query.substr(end + 1);
    if (pair.empty()) continue;
    size_t equals = pair.find('=');
    std::string_view name = pair.substr(0, equals);
    std::string_view value =
        equals == std::string_view::npos ? std::string_view() : pair.substr(equals + 1);
    request->params.emplace_back(percent_decode(name, true), percent_decode(value, true));
  }
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

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int high = hex_value(text[i + 1]);
      int low = hex_value(text[i + 2]);
      if (high >= 0 && low >= 0) {
        out.push_back(static_cast<char>(high * 16 + low));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

HttpParseResult parse_http_request(std::string_view input, const HttpRequestLimits& limits,
                                   HttpRequest* request) {
  // Tolerate empty lines before a request (RFC 9112 2.2).
  size_t start = 0;
  while (start + 1 < input.size() && input[start] == '\r' && input[start + 1] == '\n') start += 2;
  if (start > limits.max_head_bytes) {
    return fail(431, "headers_too_large", "too many empty lines before the request line");
  }
  auto head_too_large = [&limits] {
    return fail(431, "headers_too_large",
                "the request line and headers are larger than " +
                    std::to_string(limits.max_head_bytes) + " bytes");
  };
  size_t head_end = input.find("\r\n\r\n", start);
  if (head_end == std::string_view::npos) {
    // A head of exactly the limit may be followed by up to 3 bytes of its blank line so far.
    return input.size() - start > limits.max_head_bytes + 3 ? head_too_large() : HttpParseResult{};
  }
  if (head_end - start > limits.max_head_bytes) return head_too_large();
  std::string_view head = input.substr(start, head_end - start);
  size_t line_end = head.find("\r\n");
  std::string_view request_line = head.substr(0, line_end);
  std::string_view header_block =
      line_end == std::string_view::npos ? std::string_view() : head.substr(line_end + 2);

  // Request line: METHOD SP target SP HTTP/1.x
  size_t first_space = request_line.find(' ');
  size_t last_space = request_line.rfind(' ');
  if (first_space == std::string_view::npos || last_space == first_space) {
    return bad_request("the request line must be: METHOD /path HTTP/1.1");
  }
  std::string_view method = request_line.substr(0, first_space);
  std::string_view target = request_line.substr(first_space + 1, last_space - first_space - 1);
  std::string_view version = request_line.substr(last_space + 1);
  if (method.empty() || !std::all_of(method.begin(), method.end(), is_token_char)) {
    return bad_request("the request method is not a valid token");
  }
  if (version != "HTTP/1.1" && version != "HTTP/1.0") {
    return fail(505, "http_version_not_supported", "only HTTP/1.0 and HTTP/1.1 are served");
  }
  if (target.empty() || target.front() != '/') {
    return bad_request("the request target must be a path starting with /");
  }

  HttpRequest parsed;
  parsed.method = std::string(method);
  parsed.http10 = version == "HTTP/1.0";
  size_t question = target.find('?');
  parsed.path = percent_decode(target.substr(0, question), false);
  if (question != std::string_view::npos) parse_query(target.substr(question + 1), &parsed);

  while (!header_block.empty()) {
    size_t end = header_block.find("\r\n");
    std::string_view line = header_block.substr(0, end);
    header_block =
        end == std::string_view::npos ? std::string_view() : header_block.substr(end + 2);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) {
      return bad_request("a header line has no name: value form");
    }
    std::string_view name = line.substr(0, colon);
    if (!std::all_of(name.begin(), name.end(), is_token_char)) {
      return bad_request("a header name is not a valid token");
    }
    parsed.headers.emplace_back(to_lower(name), std::string(trim(line.substr(colon + 1))));
  }

  std::string connection = to_lower(parsed.header("connection"));
  parsed.keep_alive = parsed.http10 ? connection.find("keep-alive") != std::string::npos
                                    : connection.find("close") == std::string::npos;

  if (parsed.has_header("transfer-encoding")) {
    return fail(411, "length_required",
                "send the request body with Content-Length; chunked request bodies are not "
                "accepted");
  }
  size_t body_length = 0;
  if (parsed.has_header("content-length")) {
    std::string text = parsed.header("content-length");
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), body_length);
    if (text.empty() || error != std::errc() || end != text.data() + text.size()) {
      return bad_request("Content-Length must be a whole number of bytes");
    }
  }
  if (body_length > limits.max_body_bytes) {
    return fail(payload_too_large_error(limits.max_body_bytes));
  }
  size_t body_start = head_end + 4;
  if (input.size() - body_start < body_length) {
    HttpParseResult result;
    // HTTP/1.0 clients cannot ask for 100 Continue (RFC 9110 10.1.1).
    result.expects_continue =
        !parsed.http10 && equals_ignoring_case(parsed.header("expect"), "100-continue");
    return result;
  }
  parsed.body = std::string(input.substr(body_start, body_length));
  parsed.remote_addr = std::move(request->remote_addr);
  parsed.connection_id = request->connection_id;
  *request = std::move(parsed);
  HttpParseResult result;
  result.state = HttpParseResult::State::kComplete;
  result.consumed = body_start + body_length;
  return result;
}

}  // namespace relay
