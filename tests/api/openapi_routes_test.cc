// docs/openapi.yaml against the routers the services really build: every route a router serves
// (in each AUTH_MODE) is an operation of the file, and every operation the file names is served.
// The routes come from MessageService::routes() and NotifyService::routes() of services started
// in-process, so a route added anywhere in their wiring is seen here.
#include <doctest/doctest.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "message-service/message_service.h"
#include "notify-service/notify_service.h"
#include "tests/api/yaml_json.h"
#include "tests/support/child_process.h"

namespace relay::testing {
namespace {

const std::string kSpecPath = std::string(RELAY_SOURCE_DIR) + "/docs/openapi.yaml";
const std::string kWwwDir = std::string(RELAY_SOURCE_DIR) + "/www";
const std::vector<std::string> kModes = {"open", "accounts"};

/// The `servers` URL of each service's paths in the file.
const std::map<std::string, std::string> kServiceOfUrl = {
    {"http://127.0.0.1:8080", "message-service"}, {"http://127.0.0.1:8081", "notify-service"}};

/// The OpenAPI keys of a path item that are operations.
const std::set<std::string> kOperationKeys = {"get",     "put",  "post",  "delete",
                                              "options", "head", "patch", "trace"};

/// One route as both sides name it: the service, the method and the path pattern ({name}
/// segments are the same syntax in the router and in OpenAPI).
struct RouteName {
  std::string service;
  std::string method;  // upper case
  std::string pattern;
  auto operator<=>(const RouteName&) const = default;
};

/// For each route, the AUTH_MODEs it exists in.
using RouteModes = std::map<RouteName, std::set<std::string>>;

std::string upper(std::string text) {
  for (char& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::string lower(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

std::string url_of(const std::string& service) {
  for (const auto& [url, name] : kServiceOfUrl) {
    if (name == service) return url;
  }
  return "?";
}

/// Starts `Service` with `config` on a free port in `mode` (both services take the same port,
/// exposure and key settings), records the routes it serves, and stops it.
template <typename Service, typename Config>
void add_served_routes(const std::string& name, const std::string& mode, Config config,
                       RouteModes* out) {
  config.port = 0;
  config.exposure.auth_mode =
      mode == "accounts" ? Exposure::AuthMode::kAccounts : Exposure::AuthMode::kOpen;
  config.auth.secret = "openapi-route-test-key-0123456789abcdef";
  Service service(std::move(config));
  REQUIRE_MESSAGE(service.start(), name << " did not start in AUTH_MODE=" << mode);
  for (const auto& route : service.routes()) {
    (*out)[{name, route.method, route.pattern}].insert(mode);
  }
  service.stop();
}

/// The routes both services serve in each mode, read from services started in-process.
RouteModes served_routes() {
  RouteModes served;
  for (const auto& mode : kModes) {
    TempDir dir;
    MessageServiceConfig message_config;
    message_config.data_dir = dir.path();
    message_config.www_dir = kWwwDir;
    message_config.notification_service_url = "http://127.0.0.1:9";  // never reached: no posts
    add_served_routes<MessageService>("message-service", mode, message_config, &served);
    NotifyServiceConfig notify_config;
    notify_config.message_service_url = "http://127.0.0.1:9";
    add_served_routes<NotifyService>("notify-service", mode, notify_config, &served);
  }
  return served;
}

/// What the file says: the routes it describes, the files it says the static handler serves, and
/// what it says in a way this test cannot read (each a sentence saying what to fix).
struct Described {
  RouteModes routes;
  std::vector<RouteName> static_files;
  std::vector<std::string> problems;
};

std::set<std::string> services_of(const std::string& path, const nlohmann::json& item,
                                  std::vector<std::string>* problems) {
  std::set<std::string> services;
  auto servers = item.find("servers");
  if (servers == item.end() || !servers->is_array() || servers->empty()) {
    problems->push_back("docs/openapi.yaml: path " + path +
                        " has no `servers:` of its own: list the service that serves it (" +
                        "http://127.0.0.1:8080 message-service, http://127.0.0.1:8081 "
                        "notify-service)");
    return services;
  }
  for (const auto& server : *servers) {
    std::string url = server.is_object() ? server.value("url", "") : "";
    auto found = kServiceOfUrl.find(url);
    if (found == kServiceOfUrl.end()) {
      problems->push_back("docs/openapi.yaml: path " + path + " names server \"" + url +
                          "\", which is neither http://127.0.0.1:8080 (message-service) nor "
                          "http://127.0.0.1:8081 (notify-service)");
      continue;
    }
    services.insert(found->second);
  }
  return services;
}

std::set<std::string> modes_of(const std::string& where, const nlohmann::json& operation,
                               std::vector<std::string>* problems) {
  auto listed = operation.find("x-auth-modes");
  if (listed == operation.end()) return {kModes.begin(), kModes.end()};
  std::set<std::string> modes;
  if (listed->is_array()) {
    for (const auto& mode : *listed) {
      if (mode.is_string() && std::find(kModes.begin(), kModes.end(), mode) != kModes.end()) {
        modes.insert(mode.get<std::string>());
      }
    }
  }
  if (modes.empty() || modes.size() != listed->size()) {
    problems->push_back("docs/openapi.yaml: " + where +
                        ": x-auth-modes must be a list of open and/or accounts");
  }
  return modes;
}

Described described_routes(const nlohmann::json& spec) {
  Described described;
  auto paths = spec.find("paths");
  if (paths == spec.end() || !paths->is_object()) {
    described.problems.push_back("docs/openapi.yaml has no `paths:` mapping");
    return described;
  }
  for (const auto& [path, item] : paths->items()) {
    if (!item.is_object()) continue;
    std::set<std::string> services = services_of(path, item, &described.problems);
    for (const auto& [key, operation] : item.items()) {
      if (!kOperationKeys.contains(key) || !operation.is_object()) continue;
      std::string where = upper(key) + " " + path;
      std::set<std::string> modes = modes_of(where, operation, &described.problems);
      std::set<std::string> tags;
      if (auto found = operation.find("tags"); found != operation.end() && found->is_array()) {
        for (const auto& tag : *found) tags.insert(tag.is_string() ? tag.get<std::string>() : "");
      }
      for (const auto& service : services) {
        if (!tags.contains(service)) {
          described.problems.push_back("docs/openapi.yaml: " + where + " is served by " + service +
                                       " (its `servers:`) but not tagged " + service);
        }
        RouteName name{service, upper(key), path};
        if (operation.value("x-served-by", "") == "static-files") {
          described.static_files.push_back(name);
        } else {
          described.routes[name].insert(modes.begin(), modes.end());
        }
      }
    }
  }
  return described;
}

std::string in_modes(const std::set<std::string>& modes) {
  return "in AUTH_MODE=" + join(modes);
}

/// Every way `served` (the routers) and `described` (the file) disagree, one sentence each saying
/// which route is missing from which side and what to write.
std::vector<std::string> route_differences(const RouteModes& served, const RouteModes& described) {
  std::vector<std::string> out;
  std::set<RouteName> names;
  for (const auto& [name, modes] : served) names.insert(name);
  for (const auto& [name, modes] : described) names.insert(name);
  for (const auto& name : names) {
    auto served_at = served.find(name);
    auto described_at = described.find(name);
    std::string route = name.method + " " + name.pattern;
    if (described_at == described.end()) {
      const auto& modes = served_at->second;
      std::string only_accounts =
          modes.size() < kModes.size() ? ", with `x-auth-modes: [" + join(modes) + "]`" : "";
      out.push_back("missing from docs/openapi.yaml: " + name.service + " serves " + route + " (" +
                    in_modes(modes) + "): add `" + lower(name.method) +
                    ":` under `paths: " + name.pattern + ":` (the path's `servers:` listing " +
                    url_of(name.service) + ", tagged " + name.service + only_accounts + ")");
    } else if (served_at == served.end()) {
      out.push_back("missing from the router: docs/openapi.yaml describes " + route + " on " +
                    name.service + " (" + in_modes(described_at->second) + "), but " +
                    name.service +
                    " serves no such route in any AUTH_MODE: remove it from the file, or fix its "
                    "path, method or `servers:`");
    } else if (served_at->second != described_at->second) {
      out.push_back("docs/openapi.yaml says " + name.service + " serves " + route + " " +
                    in_modes(described_at->second) + ", but it is served " +
                    in_modes(served_at->second) + ": set `x-auth-modes: [" +
                    join(served_at->second) + "]` on it (absent means open and accounts)");
    }
  }
  return out;
}

}  // namespace

TEST_CASE("route_differences names the side a route is missing from and what to write") {
  RouteModes served = {{{"message-service", "GET", "/health"}, {"open", "accounts"}},
                       {{"message-service", "POST", "/channels"}, {"accounts"}},
                       {{"notify-service", "GET", "/events"}, {"accounts"}}};
  RouteModes described = {{{"message-service", "GET", "/health"}, {"open", "accounts"}},
                          {{"notify-service", "GET", "/events"}, {"open", "accounts"}},
                          {{"notify-service", "DELETE", "/events"}, {"open", "accounts"}}};
  auto differences = route_differences(served, described);
  REQUIRE(differences.size() == 3);
  CHECK(differences[0] ==
        "missing from docs/openapi.yaml: message-service serves POST /channels (in "
        "AUTH_MODE=accounts): add `post:` under `paths: /channels:` (the path's `servers:` "
        "listing http://127.0.0.1:8080, tagged message-service, with `x-auth-modes: "
        "[accounts]`)");
  CHECK(differences[1] ==
        "missing from the router: docs/openapi.yaml describes DELETE /events on notify-service "
        "(in AUTH_MODE=accounts, open), but notify-service serves no such route in any "
        "AUTH_MODE: remove it from the file, or fix its path, method or `servers:`");
  CHECK(differences[2] ==
        "docs/openapi.yaml says notify-service serves GET /events in AUTH_MODE=accounts, open, "
        "but it is served in AUTH_MODE=accounts: set `x-auth-modes: [accounts]` on it (absent "
        "means open and accounts)");
  CHECK(route_differences(served, served).empty());
}

TEST_CASE("docs/openapi.yaml describes exactly the routes both services serve, in each AUTH_MODE") {
  std::string error;
  auto spec = read_yaml_file(kSpecPath, &error);
  REQUIRE_MESSAGE(spec.has_value(), error);
  Described described = described_routes(*spec);
  for (const auto& problem : described.problems) FAIL_CHECK(problem);

  RouteModes served = served_routes();
  // A service that started with no routes would make an empty file pass.
  REQUIRE(served.contains({"message-service", "POST", "/messages"}));
  REQUIRE(served.contains({"notify-service", "GET", "/events"}));
  for (const auto& difference : route_differences(served, described.routes)) {
    FAIL_CHECK(difference);
  }

  // What the file says the static-file handler serves (outside the router) must not be a route,
  // and must be a file of www/ ("/" is index.html).
  for (const auto& name : described.static_files) {
    std::string route = name.method + " " + name.pattern;
    CHECK_MESSAGE(!served.contains(name), "docs/openapi.yaml marks " << route
                                                                     << " x-served-by: "
                                                                        "static-files, but "
                                                                     << name.service
                                                                     << "'s router serves it");
    CHECK_MESSAGE(
        (name.service == "message-service" && name.method == "GET"),
        route << " on " << name.service << ": only message-service's GET serves static files");
    std::string file = name.pattern == "/" ? "/index.html" : name.pattern;
    CHECK_MESSAGE(std::filesystem::is_regular_file(kWwwDir + file),
                  "docs/openapi.yaml marks " << route << " as a file of www/, but www" << file
                                             << " does not exist");
  }
}

}  // namespace relay::testing
