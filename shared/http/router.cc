#include "shared/http/router.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace relay {

namespace {

bool is_param_segment(std::string_view segment) {
  return segment.size() >= 3 && segment.front() == '{' && segment.back() == '}';
}

// Takes the next '/'-separated segment off `rest` (which starts after a '/'); false when none is
// left.
bool next_segment(std::string_view* rest, bool* done, std::string_view* segment) {
  if (*done) return false;
  size_t slash = rest->find('/');
  *segment = rest->substr(0, slash);
  if (slash == std::string_view::npos) {
    *done = true;
  } else {
    rest->remove_prefix(slash + 1);
  }
  return true;
}

// True when `path` matches `pattern` segment by segment; the text of each {name} segment goes to
// `params`. Both start with '/'.
bool pattern_matches(std::string_view pattern, std::string_view path,
                     std::vector<std::string>* params) {
  if (path.empty() || path.front() != '/') return false;
  std::string_view pattern_rest = pattern.substr(1);
  std::string_view path_rest = path.substr(1);
  bool pattern_done = false;
  bool path_done = false;
  std::string_view want;
  std::string_view got;
  while (true) {
    bool have_want = next_segment(&pattern_rest, &pattern_done, &want);
    bool have_got = next_segment(&path_rest, &path_done, &got);
    if (have_want != have_got) return false;
    if (!have_want) return true;
    if (is_param_segment(want)) {
      if (got.empty()) return false;
      params->emplace_back(got);
    } else if (want != got) {
      return false;
    }
  }
}

[[noreturn]] void refuse_route(const Route& route, const char* why) {
  std::fprintf(stderr, "invalid route %s %s: %s\n", route.method.c_str(), route.pattern.c_str(),
               why);
  std::abort();
}

void add_once(std::vector<std::string>* methods, const std::string& method) {
  if (std::find(methods->begin(), methods->end(), method) == methods->end()) {
    methods->push_back(method);
  }
}

}  // namespace

void Router::add(Route route) {
  // A bad route is a programming error found at startup: end the process with a clear line.
  if (route.method.empty()) refuse_route(route, "no method");
  if (route.pattern.empty() || route.pattern.front() != '/') {
    refuse_route(route, "the pattern must start with /");
  }
  if (static_cast<bool>(route.handler) == static_cast<bool>(route.async_handler)) {
    refuse_route(route, "give exactly one of handler and async_handler");
  }
  std::string_view rest = std::string_view(route.pattern).substr(1);
  bool done = false;
  std::string_view segment;
  while (next_segment(&rest, &done, &segment)) {
    bool has_brace = segment.find_first_of("{}") != std::string_view::npos;
    if (has_brace &&
        (!is_param_segment(segment) ||
         segment.substr(1, segment.size() - 2).find_first_of("{}") != std::string_view::npos)) {
      refuse_route(route, "a {name} must be a whole segment");
    }
  }
  routes_.push_back(std::move(route));
}

Router::Match Router::match(const std::string& method, const std::string& path) const {
  Match match;
  const Route* get_route = nullptr;
  std::vector<std::string> get_params;
  std::string get_label;
  std::string first_label;
  std::vector<std::string> params;
  for (const Route& route : routes_) {
    params.clear();
    if (!pattern_matches(route.pattern, path, &params)) continue;
    if (first_label.empty()) first_label = route.pattern;
    if (!route.cors) match.cors = false;
    add_once(&match.allowed_methods, route.method);
    if (match.route == nullptr && route.method == method) {
      match.route = &route;
      match.path_params = params;
      match.label = route.pattern;
    }
    if (get_route == nullptr && route.method == "GET") {
      get_route = &route;
      get_params = params;
      get_label = route.pattern;
    }
  }
  if (match.allowed_methods.empty()) return match;
  if (match.route == nullptr && method == "HEAD" && get_route != nullptr) {
    match.route = get_route;
    match.path_params = std::move(get_params);
    match.label = std::move(get_label);
  }
  if (match.route == nullptr) match.label = first_label;
  if (get_route != nullptr) add_once(&match.allowed_methods, "HEAD");
  add_once(&match.allowed_methods, "OPTIONS");
  return match;
}

}  // namespace relay
