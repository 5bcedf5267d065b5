#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "shared/http/http_reply.h"
#include "shared/http/http_request.h"
#include "shared/http/responder.h"

namespace relay {

/// Answers a request whose route matched. Runs on a loop thread (must not block) unless the route
/// is `blocking`, then on a worker of the pool. `request` may be moved from.
using SyncHandler = std::function<HttpReply(HttpRequest& request)>;
/// Answers through `responder`, now or later, from any thread; returns nothing. For work that
/// completes elsewhere (a group commit).
using AsyncHandler = std::function<void(HttpRequest& request, Responder responder)>;
/// Looks at a request head before its body is read (credentials, media type, Origin). Returns a
/// reply to refuse the request (it is answered and the connection closed without reading the
/// body), or nullopt to go on; may record who sent it (`caller`) for the handler. Runs on the
/// loop thread; must not block.
using HeadCheck = std::function<std::optional<HttpReply>(HttpRequest& head)>;

/// One route: a method on a path pattern. A pattern is a path whose segments are literal or
/// `{name}` (matches one non-empty segment; the matched text goes to request.path_params in order),
/// e.g. "/messages/{id}/receipts". The pattern is the route's label in metrics and logs.
struct Route {
  std::string method;
  std::string pattern;
  /// The largest body this route reads; a longer Content-Length is refused from the head (413).
  /// 0: the route takes no body (a request with one is refused, 400).
  size_t max_body_bytes = 0;
  /// Runs the handler on the worker pool (store reads, outbound calls).
  bool blocking = false;
  /// False for routes that are not for browsers (POST /notify): OPTIONS on the path is refused
  /// (403) and answers carry no Access-Control-* headers.
  bool cors = true;
  HeadCheck check_head{};  // optional
  SyncHandler handler{};   // exactly one of handler / async_handler
  AsyncHandler async_handler{};
};

/// The routes of one service. Built once before the server starts, then only read (any thread).
class Router {
 public:
  /// Adds a route. Routes are matched in the order added; the first whose pattern and method
  /// match wins.
  void add(Route route);

  struct Match {
    const Route* route = nullptr;  // null: no route for this method and path
    std::vector<std::string> path_params;
    /// The methods some route takes on this path (with OPTIONS), empty when no route has the
    /// path: for 405's Allow and preflight answers.
    std::vector<std::string> allowed_methods;
    /// The label of the pattern the path matched, "other" when none (bounds metric labels).
    std::string label = "other";
    /// False when some route on this path has cors == false.
    bool cors = true;
  };
  /// The route for `method` on `path`. HEAD matches a GET route when no HEAD route exists.
  Match match(const std::string& method, const std::string& path) const;

  /// Every route, in order added.
  const std::vector<Route>& routes() const { return routes_; }

 private:
  std::vector<Route> routes_;
};

}  // namespace relay
