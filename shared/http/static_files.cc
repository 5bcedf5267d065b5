#include "shared/http/static_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string_view>
#include <system_error>
#include <utility>

namespace relay {

namespace fs = std::filesystem;

namespace {

struct MimeType {
  std::string_view extension;
  std::string_view type;
};

constexpr std::array<MimeType, 20> kMimeTypes = {{
    {"html", "text/html; charset=utf-8"},
    {"htm", "text/html; charset=utf-8"},
    {"js", "text/javascript; charset=utf-8"},
    {"mjs", "text/javascript; charset=utf-8"},
    {"css", "text/css; charset=utf-8"},
    {"txt", "text/plain; charset=utf-8"},
    {"json", "application/json"},
    {"map", "application/json"},
    {"webmanifest", "application/manifest+json"},
    {"xml", "application/xml"},
    {"png", "image/png"},
    {"jpg", "image/jpeg"},
    {"jpeg", "image/jpeg"},
    {"gif", "image/gif"},
    {"svg", "image/svg+xml"},
    {"ico", "image/x-icon"},
    {"webp", "image/webp"},
    {"woff2", "font/woff2"},
    {"woff", "font/woff"},
    {"wasm", "application/wasm"},
}};

std::string_view mime_type_for(std::string_view file_name) {
  size_t dot = file_name.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  std::string extension(file_name.substr(dot + 1));
  for (auto& c : extension) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  for (const auto& entry : kMimeTypes) {
    if (entry.extension == extension) return entry.type;
  }
  return "application/octet-stream";
}

// The relative file path a request path names ("/" and "/dir/" name index.html), or "" when the
// path may not be served: it must start with '/', and hold no empty (but a final one), '.' or
// '..' segment, no backslash, '%' (an escape decoded twice would be one), NUL or control byte.
std::string relative_path(std::string_view path) {
  if (path.empty() || path.front() != '/') return {};
  for (char c : path) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7F || c == '\\' || c == '%') return {};
  }
  std::string out;
  size_t pos = 1;
  while (pos <= path.size()) {
    size_t end = path.find('/', pos);
    bool last = end == std::string_view::npos;
    if (last) end = path.size();
    std::string_view segment = path.substr(pos, end - pos);
    if (segment == "." || segment == "..") return {};
    if (segment.empty()) {
      if (!last) return {};
      segment = "index.html";
    }
    if (!out.empty()) out.push_back('/');
    out.append(segment);
    pos = end + 1;
  }
  return out;
}

// True when `path` is `root` or lies under it (both canonical).
bool is_under(const fs::path& path, const fs::path& root) {
  auto [root_end, path_at] = std::mismatch(root.begin(), root.end(), path.begin(), path.end());
  return root_end == root.end();
}

// The IMF-fixdate of RFC 9110 5.6.7 ("Sun, 06 Nov 1994 08:49:37 GMT"), without the locale.
std::string imf_fixdate(time_t seconds) {
  static constexpr std::array<const char*, 7> kDays = {"Sun", "Mon", "Tue", "Wed",
                                                       "Thu", "Fri", "Sat"};
  static constexpr std::array<const char*, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                          "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm utc {};
  gmtime_r(&seconds, &utc);
  char text[40];
  std::snprintf(text, sizeof text, "%s, %02d %s %04d %02d:%02d:%02d GMT", kDays[utc.tm_wday % 7],
                utc.tm_mday, kMonths[utc.tm_mon % 12], utc.tm_year + 1900, utc.tm_hour, utc.tm_min,
                utc.tm_sec);
  return text;
}

// The opaque part of an entity tag, without a weak prefix: W/"x" and "x" compare equal (the weak
// comparison RFC 9110 13.1.2 asks of If-None-Match).
std::string_view opaque_tag(std::string_view tag) {
  if (tag.substr(0, 2) == "W/") tag.remove_prefix(2);
  return tag;
}

std::string_view trim_ows(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

// True when an If-None-Match value is `*` or lists `etag`.
bool none_match_hits(std::string_view if_none_match, std::string_view etag) {
  if (trim_ows(if_none_match) == "*") return true;
  while (true) {
    size_t comma = if_none_match.find(',');
    if (opaque_tag(trim_ows(if_none_match.substr(0, comma))) == opaque_tag(etag)) return true;
    if (comma == std::string_view::npos) return false;
    if_none_match.remove_prefix(comma + 1);
  }
}

}  // namespace

StaticFiles::StaticFiles(std::string root, size_t max_file_bytes, PageHeaders page_headers)
    : root_(std::move(root)),
      max_file_bytes_(max_file_bytes),
      page_headers_(std::move(page_headers)) {}

bool StaticFiles::usable() const {
  std::error_code error;
  return fs::is_directory(root_, error) && ::access(root_.c_str(), R_OK | X_OK) == 0;
}

std::optional<HttpReply> StaticFiles::serve(const HttpRequest& request) const {
  if (request.method != "GET" && request.method != "HEAD") return std::nullopt;
  std::string relative = relative_path(request.path);
  if (relative.empty()) return std::nullopt;

  std::error_code error;
  fs::path root = fs::canonical(root_, error);
  if (error) return std::nullopt;
  fs::path resolved = fs::weakly_canonical(root / relative, error);
  // Symlinks are resolved first, so one pointing out of the root is refused here.
  if (error || !is_under(resolved, root)) return std::nullopt;
  if (fs::is_directory(resolved, error)) {
    resolved = fs::weakly_canonical(resolved / "index.html", error);
    if (error || !is_under(resolved, root)) return std::nullopt;
  }

  struct stat info {};
  if (::stat(resolved.c_str(), &info) != 0 || !S_ISREG(info.st_mode)) return std::nullopt;
  auto size = static_cast<uint64_t>(info.st_size);
  if (size > max_file_bytes_) return std::nullopt;
  uint64_t mtime_ns = static_cast<uint64_t>(info.st_mtim.tv_sec) * 1000000000ull +
                      static_cast<uint64_t>(info.st_mtim.tv_nsec);
  char etag[64];
  std::snprintf(etag, sizeof etag, "W/\"%llu-%llx\"", static_cast<unsigned long long>(size),
                static_cast<unsigned long long>(mtime_ns));

  HttpReply reply;
  reply.content_type = std::string(mime_type_for(resolved.filename().string()));
  reply.headers = {{"ETag", etag},
                   {"Last-Modified", imf_fixdate(info.st_mtim.tv_sec)},
                   {"Cache-Control", "no-cache"},
                   {"X-Content-Type-Options", "nosniff"}};
  if (page_headers_) {
    for (auto& header : page_headers_(request)) reply.headers.push_back(std::move(header));
  }
  if (request.has_header("if-none-match") &&
      none_match_hits(request.header("if-none-match"), etag)) {
    reply.status = 304;
    return reply;
  }

  std::ifstream file(resolved, std::ios::binary);
  if (!file) return std::nullopt;
  // One byte more than stat() said, to see a file that changed meanwhile (not served: its ETag
  // would not match; the next request sees it whole).
  reply.body.resize(static_cast<size_t>(size) + 1);
  file.read(reply.body.data(), static_cast<std::streamsize>(reply.body.size()));
  if (file.bad() || static_cast<uint64_t>(file.gcount()) != size) return std::nullopt;
  reply.body.resize(static_cast<size_t>(size));
  reply.status = 200;
  return reply;
}

}  // namespace relay
