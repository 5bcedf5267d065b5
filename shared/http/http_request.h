#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/validation.h"

namespace relay {

/// One HTTP/1.x request as the server hands it to a route. Everything in it was checked by
/// parse_request_head(): no control bytes, no framing ambiguity, a decoded path that is valid
/// UTF-8 without NUL, "%2F" or dot segments.
struct HttpRequest {
  std::string method;
  std::string target;                                        // as sent: path and query
  std::string path;                                          // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> params;   // decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::vector<std::string> path_params;  // what the route's {name} segments matched, in order
  std::string body;
  size_t content_length = 0;  // the body's length, known from the head
  bool keep_alive = true;     // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only when asked
  bool http10 = false;
  bool expects_continue = false;  // `Expect: 100-continue` on an HTTP/1.1 request with a body
  std::string remote_addr;
  uint64_t connection_id = 0;  // the server's id for the connection that sent it
  /// Who sent it, when a route's head check established that from a credential (AUTH_MODE=
  /// accounts): a user name, or for a service token the service's name in `caller_service`.
  /// Both empty when identity is self-declared.
  std::string caller;
  std::string caller_service;

  /// The value of a header (name in any case), or "" when absent. Repeated headers other than
  /// those refused by the parser keep their first value here.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  /// The first value of a query parameter, or "" when absent.
  std::string param(std::string_view name) const;
  bool has_param(std::string_view name) const;
};

/// Limits applied while a request head arrives; each is checked as bytes come in, never after a
/// whole oversized head was buffered.
struct HttpRequestLimits {
  /// Every byte before the body: empty lines before the request line, the request line, the
  /// headers and the blank line ending them, line ends included. A head that has not ended within
  /// this many bytes is refused as soon as one more byte is there, so a server holding an
  /// incomplete head never buffers more than this.
  size_t max_head_bytes = 16 * 1024;
  size_t max_headers = 100;
};

/// What parse_request_head found at the start of a connection's input.
struct HttpHeadResult {
  enum class State {
    kIncomplete,  // more bytes are needed; none of the limits is passed (input <= max_head_bytes)
    kComplete,    // `request` holds the head; the body starts at `head_bytes` <= max_head_bytes
    kError,       // `error` says why (400, 411, 431, 501, 505); answer it and close
  };
  State state = State::kIncomplete;
  size_t head_bytes = 0;
  ApiError error;
};

/// Parses the request head at the start of `input`, strictly (RFC 9112; reject rather than guess):
/// CRLF line ends only (a bare CR or LF is an error), no obs-fold, no space before a colon, token
/// methods of a known verb, HTTP/1.0 or HTTP/1.1, origin-form targets, at most one Host,
/// Content-Length given once as plain digits that fit in 63 bits, Transfer-Encoding refused (411),
/// Content-Length with Transfer-Encoding refused (400), no CTL bytes (but HTAB) in values.
/// `request->remote_addr` and `connection_id` are kept. Never throws. Pure: no I/O, no state.
HttpHeadResult parse_request_head(std::string_view input, const HttpRequestLimits& limits,
                                  HttpRequest* request);

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`). Returns false (and leaves `out`
/// unspecified) for a malformed escape, a decoded NUL or other C0 control byte, or bytes that are
/// not valid UTF-8.
bool percent_decode(std::string_view text, bool plus_is_space, std::string* out);

/// Splits and decodes an application/x-www-form-urlencoded query. False when any part fails
/// percent_decode.
bool parse_query(std::string_view query, std::vector<std::pair<std::string, std::string>>* out);

// is_valid_utf8() (well-formed UTF-8, no overlongs or surrogates) is in shared/validation.h.

}  // namespace relay
