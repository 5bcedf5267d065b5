#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "shared/validation.h"

namespace relay {

/// One parsed HTTP/1.x request, as notify-service's event loop hands it to the routes.
struct HttpRequest {
  std::string method;
  std::string path;                                          // percent-decoded, without the query
  std::vector<std::pair<std::string, std::string>> params;   // decoded query parameters
  std::vector<std::pair<std::string, std::string>> headers;  // names in lower case
  std::string body;
  bool keep_alive = true;  // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only when asked
  bool http10 = false;
  std::string remote_addr;
  uint64_t connection_id = 0;  // the event loop's id for the connection that sent it

  /// The first value of a header (name in any case), or "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  /// The first value of a query parameter, or "" when absent.
  std::string param(std::string_view name) const;
};

/// Limits applied while reading a request.
struct HttpRequestLimits {
  size_t max_head_bytes = 16 * 1024;
  size_t max_body_bytes = 1 << 20;
};

/// What parse_http_request found at the start of a connection's input buffer.
struct HttpParseResult {
  enum class State {
    kIncomplete,  // more bytes are needed
    kComplete,    // `request` is filled; `consumed` bytes belong to it
    kError,       // `error` says why; answer it and close the connection
  };
  State state = State::kIncomplete;
  size_t consumed = 0;
  /// Set while incomplete once the head is read: the client sent `Expect: 100-continue` and
  /// waits for an interim answer before sending the body.
  bool expects_continue = false;
  ApiError error;
};

/// Parses one request from the start of `input` (which may hold less, or more: pipelined
/// requests). Bodies need Content-Length; chunked request bodies are refused (411). Never throws.
HttpParseResult parse_http_request(std::string_view input, const HttpRequestLimits& limits,
                                   HttpRequest* request);

/// Decodes %XX escapes (and '+' as a space when `plus_is_space`). Invalid escapes stay as they are.
std::string percent_decode(std::string_view text, bool plus_is_space);

}  // namespace relay
