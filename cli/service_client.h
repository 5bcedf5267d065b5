#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

// The only cli/ file that includes httplib.h is service_client.cc: the rest of the client sees
// plain structs.
namespace httplib {
class Client;
}

namespace relay::cli {

/// Query parameters in order; values are percent-encoded when the request is sent.
using QueryParams = std::vector<std::pair<std::string, std::string>>;
/// Extra request headers.
using HeaderList = std::vector<std::pair<std::string, std::string>>;

/// What one request came back with.
struct CallResult {
  /// The HTTP status, or 0 when there was no response (see transport_error).
  int status = 0;
  std::string transport_error;
  std::string body;
  /// The body parsed as JSON (a discarded value when it is not JSON).
  nlohmann::json json;
  /// The Retry-After header in seconds, or -1 when absent.
  int retry_after_seconds = -1;
  /// The Set-Cookie headers, as sent.
  std::vector<std::string> set_cookies;

  bool answered() const { return status != 0; }
};

/// How a streaming response starts: its status and, for a non-200, nothing else is streamed.
using StreamStart = std::function<void(int status)>;
/// Receives body bytes of a 200 stream as they arrive; return false to end the stream.
using StreamBytes = std::function<bool(std::string_view bytes)>;

/// HTTP requests to one service at `base_url` (http[s]://host[:port], no path). Each request uses
/// a fresh connection. Plain requests may be made from any thread; stop() may be called from any
/// thread to end a stream() in progress.
class ServiceClient {
 public:
  explicit ServiceClient(std::string base_url);
  ~ServiceClient();
  ServiceClient(const ServiceClient&) = delete;
  ServiceClient& operator=(const ServiceClient&) = delete;

  const std::string& base_url() const { return base_url_; }
  /// Gives the Authorization value every later request carries ("" for none); called per
  /// request, from the thread making it. Set before requests are made.
  void set_authorization(std::function<std::string()> authorization) {
    authorization_ = std::move(authorization);
  }

  /// GET path?query. Waits at most 10 s to connect and 30 s for each read.
  CallResult get(const std::string& path, const QueryParams& query = {},
                 const HeaderList& headers = {}) const;
  /// POST path with a JSON body (Content-Type: application/json).
  CallResult post_json(const std::string& path, const nlohmann::json& body,
                       const HeaderList& headers = {}) const;

  /// DELETE path.
  CallResult del(const std::string& path, const HeaderList& headers = {}) const;

  /// GET path?query as a long-lived stream: `on_start` gets the status once the head arrived, then
  /// a 200's body goes to `on_bytes` until the server ends it, the connection breaks, nothing
  /// arrived for `idle_timeout`, `on_bytes` returns false, or stop() is called. A non-200's body
  /// is returned in the result instead. The result's status is 0 when no head arrived.
  CallResult stream(const std::string& path, const QueryParams& query, const HeaderList& headers,
                    std::chrono::seconds idle_timeout, const StreamStart& on_start,
                    const StreamBytes& on_bytes);
  /// Ends the stream() in progress, if any, and makes every later stream() return at once.
  void stop();

 private:
  HeaderList with_authorization(const HeaderList& headers) const;

  std::string base_url_;
  std::function<std::string()> authorization_;
  std::atomic<bool> stopped_{false};
  std::mutex stream_mutex_;
  httplib::Client* streaming_client_ = nullptr;  // guarded by stream_mutex_
};

/// Percent-encodes `text` for a URL query (RFC 3986 unreserved characters stay as they are).
std::string url_encode(std::string_view text);

/// "path?a=1&b=2" with encoded values; "path" when `query` is empty.
std::string with_query(const std::string& path, const QueryParams& query);

}  // namespace relay::cli
