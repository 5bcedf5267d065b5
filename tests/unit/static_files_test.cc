// Unit tests for shared/http's static files: index, MIME types, ETag / 304, HEAD, and never
// leaving the root.
#include <doctest/doctest.h>

#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <optional>
#include <string>

#include "shared/http/static_files.h"

namespace relay {
namespace {

namespace fs = std::filesystem;

// A temporary directory holding `www/` (the root) and `outside/`, removed at the end.
class TempSite {
 public:
  TempSite() {
    std::string pattern = (fs::temp_directory_path() / "relay-static-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    base_ = pattern;
    fs::create_directories(base_ / "www" / "sub");
    fs::create_directories(base_ / "outside");
  }
  ~TempSite() {
    std::error_code error;
    fs::remove_all(base_, error);
  }
  TempSite(const TempSite&) = delete;
  TempSite& operator=(const TempSite&) = delete;

  void write(const std::string& relative, const std::string& content) const {
    std::ofstream out(base_ / relative, std::ios::binary);
    out << content;
    REQUIRE(out.good());
  }
  fs::path path(const std::string& relative) const { return base_ / relative; }
  std::string root() const { return (base_ / "www").string(); }

 private:
  fs::path base_;
};

HttpRequest get(std::string path, std::string method = "GET") {
  HttpRequest request;
  request.method = std::move(method);
  request.path = std::move(path);
  request.target = request.path;
  return request;
}

std::string header_of(const HttpReply& reply, const std::string& name) {
  for (const auto& [key, value] : reply.headers) {
    if (key == name) return value;
  }
  return {};
}

TEST_CASE("static files: / is index.html, a file is served with its type and validators") {
  TempSite site;
  site.write("www/index.html", "<!doctype html><title>chat</title>");
  site.write("www/sub/index.html", "sub index");
  StaticFiles files(site.root());
  CHECK(files.usable());
  CHECK(files.root() == site.root());

  std::optional<HttpReply> index = files.serve(get("/"));
  REQUIRE(index);
  CHECK(index->status == 200);
  CHECK(index->body == "<!doctype html><title>chat</title>");
  CHECK(index->content_type == "text/html; charset=utf-8");
  CHECK(header_of(*index, "Cache-Control") == "no-cache");
  std::string etag = header_of(*index, "ETag");
  CHECK(etag.rfind("W/\"34-", 0) == 0);  // the size, then the modification time in hex
  CHECK(etag.back() == '"');
  std::string last_modified = header_of(*index, "Last-Modified");
  CHECK(last_modified.size() == 29);  // "Sun, 06 Nov 1994 08:49:37 GMT"
  CHECK(last_modified.substr(25) == " GMT");

  std::optional<HttpReply> named = files.serve(get("/index.html"));
  REQUIRE(named);
  CHECK(named->body == index->body);
  CHECK(header_of(*named, "ETag") == etag);
  std::optional<HttpReply> sub = files.serve(get("/sub/"));
  REQUIRE(sub);
  CHECK(sub->body == "sub index");
  std::optional<HttpReply> sub_dir = files.serve(get("/sub"));
  REQUIRE(sub_dir);
  CHECK(sub_dir->body == "sub index");
}

TEST_CASE("static files: MIME types by extension, charset for text, octet-stream otherwise") {
  TempSite site;
  StaticFiles files(site.root());
  struct Case {
    const char* name;
    const char* type;
  };
  for (Case c :
       {Case{"a.html", "text/html; charset=utf-8"}, Case{"a.js", "text/javascript; charset=utf-8"},
        Case{"a.mjs", "text/javascript; charset=utf-8"}, Case{"a.css", "text/css; charset=utf-8"},
        Case{"a.txt", "text/plain; charset=utf-8"}, Case{"a.json", "application/json"},
        Case{"a.png", "image/png"}, Case{"a.svg", "image/svg+xml"}, Case{"a.ico", "image/x-icon"},
        Case{"a.woff2", "font/woff2"}, Case{"a.webp", "image/webp"}, Case{"A.PNG", "image/png"},
        Case{"noext", "application/octet-stream"}, Case{"a.unknown", "application/octet-stream"}}) {
    site.write(std::string("www/") + c.name, "x");
    std::optional<HttpReply> reply = files.serve(get(std::string("/") + c.name));
    REQUIRE_MESSAGE(reply, c.name);
    CHECK_MESSAGE(reply->content_type == c.type, c.name);
  }
}

TEST_CASE("static files: If-None-Match with the ETag, in a list, or * answers 304") {
  TempSite site;
  site.write("www/app.js", "console.log(1);");
  StaticFiles files(site.root());
  std::optional<HttpReply> first = files.serve(get("/app.js"));
  REQUIRE(first);
  std::string etag = header_of(*first, "ETag");
  REQUIRE_FALSE(etag.empty());
  for (std::string value : {etag, "\"other\", " + etag, "W/\"x\"," + etag + " ", std::string("*"),
                            etag.substr(2)}) {  // the strong form matches weakly too
    HttpRequest request = get("/app.js");
    request.headers.emplace_back("if-none-match", value);
    std::optional<HttpReply> reply = files.serve(request);
    REQUIRE(reply);
    CHECK_MESSAGE(reply->status == 304, value);
    CHECK(reply->body.empty());
    CHECK(header_of(*reply, "ETag") == etag);
  }
  for (std::string value : {std::string("W/\"0-0\""), std::string("\"other\""),
                            etag.substr(0, etag.size() - 2) + "\""}) {
    HttpRequest request = get("/app.js");
    request.headers.emplace_back("if-none-match", value);
    std::optional<HttpReply> reply = files.serve(request);
    REQUIRE(reply);
    CHECK_MESSAGE(reply->status == 200, value);
    CHECK(reply->body == "console.log(1);");
  }
}

TEST_CASE("static files: HEAD gets the same reply as GET, other methods are not served") {
  TempSite site;
  site.write("www/style.css", "body{}");
  StaticFiles files(site.root());
  std::optional<HttpReply> head = files.serve(get("/style.css", "HEAD"));
  std::optional<HttpReply> got = files.serve(get("/style.css"));
  REQUIRE(head);
  REQUIRE(got);
  CHECK(head->status == 200);
  CHECK(head->body == got->body);  // the server drops it, but sends its length
  CHECK(head->content_type == got->content_type);
  CHECK(head->headers == got->headers);
  CHECK_FALSE(files.serve(get("/style.css", "POST")));
  CHECK_FALSE(files.serve(get("/style.css", "DELETE")));
}

TEST_CASE("static files: dot segments, escapes, backslashes and control bytes are refused") {
  TempSite site;
  site.write("www/index.html", "index");
  site.write("www/sub/page.html", "page");
  site.write("outside/secret.txt", "secret");
  site.write("www/%2e%2e", "literal percent name");
  StaticFiles files(site.root());
  CHECK(files.serve(get("/sub/page.html")));
  for (std::string path :
       {std::string("/../outside/secret.txt"), std::string("/sub/../../outside/secret.txt"),
        std::string("/sub/../index.html"), std::string("/./index.html"), std::string("/.."),
        std::string("/sub/.."), std::string("/%2e%2e/outside/secret.txt"), std::string("/%2e%2e"),
        std::string("/sub%2fpage.html"), std::string("/..\\outside\\secret.txt"),
        std::string("/sub\\page.html"), std::string("/index.html\0.png", 16),
        std::string("/index.html\n"), std::string("//etc/passwd"), std::string("/sub//page.html"),
        std::string("relative.html"), std::string("")}) {
    CHECK_MESSAGE(!files.serve(get(path)).has_value(), path);
  }
}

TEST_CASE("static files: a symlink out of the root is refused, one inside is served") {
  TempSite site;
  site.write("www/real.txt", "inside");
  site.write("outside/secret.txt", "secret");
  fs::create_symlink(site.path("outside/secret.txt"), site.path("www/leak.txt"));
  fs::create_directory_symlink(site.path("outside"), site.path("www/out"));
  fs::create_symlink(site.path("www/real.txt"), site.path("www/alias.txt"));
  StaticFiles files(site.root());
  CHECK_FALSE(files.serve(get("/leak.txt")));
  CHECK_FALSE(files.serve(get("/out/secret.txt")));
  std::optional<HttpReply> alias = files.serve(get("/alias.txt"));
  REQUIRE(alias);
  CHECK(alias->body == "inside");
}

TEST_CASE("static files: missing files, directories without index, and large files are nullopt") {
  TempSite site;
  site.write("www/big.bin", std::string(1025, 'b'));
  site.write("www/fits.bin", std::string(1024, 'f'));
  StaticFiles files(site.root(), 1024);
  CHECK_FALSE(files.serve(get("/missing.html")));
  CHECK_FALSE(files.serve(get("/")));      // no index.html
  CHECK_FALSE(files.serve(get("/sub/")));  // a directory without one
  CHECK_FALSE(files.serve(get("/big.bin")));
  std::optional<HttpReply> fits = files.serve(get("/fits.bin"));
  REQUIRE(fits);
  CHECK(fits->body.size() == 1024);

  StaticFiles missing_root(site.path("nope").string());
  CHECK_FALSE(missing_root.usable());
  CHECK_FALSE(missing_root.serve(get("/fits.bin")));
  StaticFiles file_root(site.path("www/fits.bin").string());
  CHECK_FALSE(file_root.usable());
}

}  // namespace
}  // namespace relay
