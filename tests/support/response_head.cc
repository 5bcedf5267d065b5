#include "tests/support/response_head.h"

#include <algorithm>
#include <charconv>

#include "shared/http_rules.h"

namespace relay::testing {

namespace {

bool contains_ignoring_case(std::string_view text, std::string_view word) {
  for (size_t at = 0; at + word.size() <= text.size(); ++at) {
    if (equals_ignoring_case(text.substr(at, word.size()), word)) return true;
  }
  return false;
}

std::string_view trim(std::string_view text) {
  size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t");
  return text.substr(start, end - start + 1);
}

}  // namespace

std::string ResponseHead::header(std::string_view name) const {
  for (const auto& [key, value] : headers) {
    if (equals_ignoring_case(key, name)) return value;
  }
  return {};
}

bool ResponseHead::has_header(std::string_view name) const {
  return std::any_of(headers.begin(), headers.end(),
                     [name](const auto& entry) { return equals_ignoring_case(entry.first, name); });
}

bool ResponseHead::chunked() const {
  return header_names("Transfer-Encoding", "chunked");
}

bool ResponseHead::header_names(std::string_view name, std::string_view word) const {
  return contains_ignoring_case(header(name), word);
}

std::optional<size_t> ResponseHead::content_length() const {
  std::string text = header("Content-Length");
  size_t length = 0;
  auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), length);
  if (text.empty() || error != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return length;
}

std::optional<ResponseHead> parse_response_head(std::string_view head) {
  size_t line_end = head.find("\r\n");
  std::string_view status_line = head.substr(0, line_end);
  // "HTTP/1.x NNN" and then the end of the line or a space and a reason.
  if (status_line.size() < 12 ||
      (status_line.substr(0, 9) != "HTTP/1.0 " && status_line.substr(0, 9) != "HTTP/1.1 ")) {
    return std::nullopt;
  }
  if (status_line.size() > 12 && status_line[12] != ' ') return std::nullopt;
  ResponseHead parsed;
  auto [end, error] =
      std::from_chars(status_line.data() + 9, status_line.data() + 12, parsed.status);
  if (error != std::errc() || end != status_line.data() + 12 || parsed.status < 100) {
    return std::nullopt;
  }
  parsed.head = std::string(head);
  while (line_end != std::string_view::npos) {
    size_t start = line_end + 2;
    line_end = head.find("\r\n", start);
    std::string_view line = head.substr(start, line_end - start);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos) continue;
    parsed.headers.emplace_back(std::string(line.substr(0, colon)),
                                std::string(trim(line.substr(colon + 1))));
  }
  return parsed;
}

}  // namespace relay::testing
