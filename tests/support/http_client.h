#pragma once

// Well-formed HTTP requests to a service under test, over cpp-httplib's client: one fresh
// connection per request, a result that says what came back or why nothing did. For bytes that
// must be exactly so (malformed, pipelined, half-sent), use raw_socket.h instead.

#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/eventually.h"

namespace relay::testing {

using Json = nlohmann::json;

/// One HTTP response, or why there was none.
struct HttpResponse {
  int status = 0;  // 0 when the request failed before a response
  std::string error;
  std::string body;
  httplib::Headers headers;

  bool ok() const { return status != 0; }
  /// The header's value ("" when absent); names are case-insensitive.
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const;
  /// The body parsed as JSON (a discarded value when it is not JSON).
  Json json() const;
  /// "status 400 body {...}" or "no response: <error>", for failure messages.
  std::string describe() const;
};

/// Plain HTTP/1.1 requests to 127.0.0.1:port; one fresh connection per request (no keep-alive
/// races in retries or restarts). Safe to use from several threads at once. A client may carry
/// headers it sends with every request (with_headers(): a caller's credential), before the
/// request's own.
class HttpClient {
 public:
  explicit HttpClient(int port, Millis timeout = 15s) : port_(port), timeout_(timeout) {}

  HttpResponse get(const std::string& path, const httplib::Headers& headers = {}) const;
  HttpResponse post(const std::string& path, const std::string& body,
                    const std::string& content_type, const httplib::Headers& headers = {}) const;
  HttpResponse post_json(const std::string& path, const Json& body,
                         const httplib::Headers& headers = {}) const;
  HttpResponse del(const std::string& path, const httplib::Headers& headers = {}) const;
  HttpResponse options(const std::string& path) const;

  int port() const { return port_; }
  /// A copy of this client that also sends `headers` with every request.
  HttpClient with_headers(const httplib::Headers& headers) const;

 private:
  httplib::Headers merged(const httplib::Headers& headers) const;

  int port_;
  Millis timeout_;
  httplib::Headers defaults_;
};

}  // namespace relay::testing
