#pragma once

#include <functional>
#include <optional>
#include <string>

#include "shared/http/http_reply.h"
#include "shared/http/http_request.h"

namespace relay {

/// Serves the files under one directory (the chat page in www/) for GET and HEAD: "/" is
/// index.html, a MIME type from the extension (unknown ones as application/octet-stream), a weak
/// ETag from size and modification time with If-None-Match answered 304, Last-Modified, and
/// `Cache-Control: no-cache` so a changed page is picked up. Never leaves the directory: dot
/// segments, backslashes, NUL and symlinks pointing outside are refused (404). Files larger than
/// `max_file_bytes` are not served (404). Reads the file on the calling thread. Thread-safe.
class StaticFiles {
 public:
  /// `page_headers(request)`, when set, gives headers every file answer also carries (the
  /// page's Content-Security-Policy and other security headers).
  using PageHeaders = std::function<HeaderList(const HttpRequest& request)>;
  explicit StaticFiles(std::string root, size_t max_file_bytes = 8 << 20,
                       PageHeaders page_headers = {});

  /// True when the root is a readable directory.
  bool usable() const;
  /// The answer for `request` (GET or HEAD; the body is left empty for HEAD but Content-Length
  /// says the file's size via the reply's body being set — the server omits it for HEAD), or
  /// nullopt when no file matches (the server then answers its JSON 404).
  std::optional<HttpReply> serve(const HttpRequest& request) const;

  const std::string& root() const { return root_; }

 private:
  std::string root_;
  size_t max_file_bytes_;
  PageHeaders page_headers_;
};

}  // namespace relay
