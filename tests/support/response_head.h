#pragma once

// An HTTP response head as it came off the wire, parsed: for the tests' raw socket
// (raw_socket.h) and bench/load's publishers, which share it. Needs no doctest.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace relay::testing {

/// A response head: the status line and header fields as they came off the wire.
struct ResponseHead {
  int status = 0;
  std::string head;  // status line and header lines, with the blank line
  std::vector<std::pair<std::string, std::string>> headers;  // names as sent, values trimmed

  /// The first value of header `name` ("" when absent); names compare case-insensitively.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  /// True when Transfer-Encoding names `chunked`.
  bool chunked() const;
  /// True when the first value of header `name` contains `word`, ignoring case.
  bool header_names(std::string_view name, std::string_view word) const;
  /// The Content-Length when there is one made of digits only; nullopt when absent or not digits.
  std::optional<size_t> content_length() const;
};

/// Parses `head` (up to and including the blank line; CRLF line ends) into a ResponseHead;
/// nullopt when the status line is not `HTTP/1.x NNN ...`. Header lines without a colon are
/// skipped.
std::optional<ResponseHead> parse_response_head(std::string_view head);

}  // namespace relay::testing
