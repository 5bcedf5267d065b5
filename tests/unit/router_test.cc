// Unit tests for shared/http's router: segment patterns, methods, HEAD fallback, labels.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "shared/http/router.h"

namespace relay {
namespace {

using Methods = std::vector<std::string>;

// A route whose handler answers its own method and pattern, to tell routes apart.
Route route(std::string method, std::string pattern) {
  Route route;
  route.method = method;
  route.pattern = pattern;
  route.handler = [method, pattern](HttpRequest&) {
    return HttpReply::text(200, method + " " + pattern, "text/plain");
  };
  return route;
}

Router sample_router() {
  Router router;
  router.add(route("GET", "/health"));
  router.add(route("GET", "/messages"));
  router.add(route("POST", "/messages"));
  router.add(route("GET", "/messages/{id}/receipts"));
  router.add(route("POST", "/messages/{id}/receipts"));
  router.add(route("DELETE", "/channels/{channel}/members/{user}"));
  router.add(route("POST", "/notify"));
  router.add(route("GET", "/"));
  return router;
}

std::string answer_of(const Router::Match& match) {
  REQUIRE(match.route != nullptr);
  HttpRequest request;
  return match.route->handler(request).body;
}

TEST_CASE("router: literal patterns match whole paths only") {
  Router router = sample_router();
  Router::Match match = router.match("GET", "/health");
  CHECK(answer_of(match) == "GET /health");
  CHECK(match.label == "/health");
  CHECK(match.path_params.empty());
  CHECK(answer_of(router.match("GET", "/")) == "GET /");
  for (const char* path : {"/healthz", "/health/", "/health/x", "/Health", "//health", "", "x"}) {
    Router::Match miss = router.match("GET", path);
    CHECK_MESSAGE(miss.route == nullptr, path);
    CHECK(miss.allowed_methods.empty());
    CHECK(miss.label == "other");
  }
  CHECK(router.routes().size() == 8);
}

TEST_CASE("router: {name} segments capture one non-empty segment each, in order") {
  Router router = sample_router();
  Router::Match match = router.match("POST", "/messages/42/receipts");
  CHECK(answer_of(match) == "POST /messages/{id}/receipts");
  CHECK(match.path_params == Methods{"42"});
  CHECK(match.label == "/messages/{id}/receipts");

  Router::Match two = router.match("DELETE", "/channels/general/members/ann%20b");
  CHECK(two.route != nullptr);
  CHECK(two.path_params == Methods{"general", "ann%20b"});

  for (const char* path : {"/messages//receipts", "/messages/42/receipts/", "/messages/42",
                           "/messages/4/2/receipts", "/channels/general/members/"}) {
    CHECK_MESSAGE(router.match("GET", path).route == nullptr, path);
  }
}

TEST_CASE("router: a known path with another method gives the allowed list for 405") {
  Router router = sample_router();
  Router::Match match = router.match("PUT", "/messages");
  CHECK(match.route == nullptr);
  CHECK(match.allowed_methods == Methods{"GET", "POST", "HEAD", "OPTIONS"});
  CHECK(match.label == "/messages");

  Router::Match post_only = router.match("GET", "/notify");
  CHECK(post_only.route == nullptr);
  CHECK(post_only.allowed_methods == Methods{"POST", "OPTIONS"});  // no GET, so no HEAD
  CHECK(post_only.label == "/notify");

  Router::Match options = router.match("OPTIONS", "/messages/7/receipts");
  CHECK(options.route == nullptr);  // preflight is the server's
  CHECK(options.allowed_methods == Methods{"GET", "POST", "HEAD", "OPTIONS"});
  CHECK(options.label == "/messages/{id}/receipts");

  // A matched route also reports what else the path takes.
  CHECK(router.match("GET", "/messages").allowed_methods ==
        Methods{"GET", "POST", "HEAD", "OPTIONS"});
}

TEST_CASE("router: HEAD falls back to the GET route unless a HEAD route exists") {
  Router router = sample_router();
  Router::Match head = router.match("HEAD", "/messages/9/receipts");
  CHECK(answer_of(head) == "GET /messages/{id}/receipts");
  CHECK(head.path_params == Methods{"9"});
  CHECK(head.label == "/messages/{id}/receipts");
  CHECK(router.match("HEAD", "/notify").route == nullptr);

  Router own_head;
  own_head.add(route("GET", "/x"));
  own_head.add(route("HEAD", "/x"));
  CHECK(answer_of(own_head.match("HEAD", "/x")) == "HEAD /x");
  CHECK(own_head.match("HEAD", "/x").allowed_methods == Methods{"GET", "HEAD", "OPTIONS"});
}

TEST_CASE("router: the first route added wins, the label is the matched route's pattern") {
  Router router;
  router.add(route("GET", "/items/latest"));
  router.add(route("GET", "/items/{id}"));
  router.add(route("POST", "/items/{id}"));
  Router::Match latest = router.match("GET", "/items/latest");
  CHECK(answer_of(latest) == "GET /items/latest");
  CHECK(latest.label == "/items/latest");
  Router::Match by_id = router.match("POST", "/items/latest");
  CHECK(answer_of(by_id) == "POST /items/{id}");
  CHECK(by_id.label == "/items/{id}");
  CHECK(by_id.path_params == Methods{"latest"});
  CHECK(router.match("GET", "/items/5").label == "/items/{id}");
  CHECK(router.match("PATCH", "/items/5").allowed_methods ==
        Methods{"GET", "POST", "HEAD", "OPTIONS"});
}

TEST_CASE("router: an unknown path is labelled other, whatever its method") {
  Router router = sample_router();
  for (const char* method : {"GET", "POST", "HEAD", "OPTIONS"}) {
    Router::Match match = router.match(method, "/nope/123");
    CHECK(match.route == nullptr);
    CHECK(match.label == "other");
    CHECK(match.allowed_methods.empty());
  }
}

}  // namespace
}  // namespace relay
