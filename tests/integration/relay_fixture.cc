#include "tests/integration/relay_fixture.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include "shared/validation.h"

namespace relay::itest {

namespace {

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

Environment merged(Environment base, const Environment& overrides) {
  for (const auto& [key, value] : overrides) base[key] = value;
  return base;
}

}  // namespace

std::string message_service_binary() {
  return env_or("RELAY_MESSAGE_SERVICE_BIN", RELAY_MESSAGE_SERVICE_BIN);
}

std::string notify_service_binary() {
  return env_or("RELAY_NOTIFY_SERVICE_BIN", RELAY_NOTIFY_SERVICE_BIN);
}

// ---- Relay ----

Relay::Relay(RelayOptions options)
    : data_dir_(dir_.subdir("data")),
      message_("message-service", message_service_binary(), {}),
      notify_("notify-service", notify_service_binary(), {}) {
  // message-service must know notify-service's port before either runs; the port stays bound
  // until notify-service is started, so message-service's own PORT=0 cannot be given it.
  HeldPort notify_hold;
  notify_port_ = notify_hold.port();
  message_.env() = merged(
      {
          {"PORT", "0"},
          {"BIND_ADDRESS", "127.0.0.1"},
          {"DATA_DIR", data_dir_},
          {"NOTIFICATION_SERVICE_URL", "http://127.0.0.1:" + std::to_string(notify_port_)},
          {"FORWARD_RETRY_MAX_MS", "200"},
      },
      options.message_env);
  if (options.start_message) {
    start_message();
  } else {
    message_port_ = reserve_free_port();  // nobody listens here: history is unreachable
  }
  notify_.env() = merged(
      {
          {"PORT", std::to_string(notify_port_)},
          {"BIND_ADDRESS", "127.0.0.1"},
          {"MESSAGE_SERVICE_URL", "http://127.0.0.1:" + std::to_string(message_port_)},
      },
      options.notify_env);
  notify_hold.release();
  if (options.start_notify) start_notify();
}

Relay::~Relay() {
  if (std::uncaught_exceptions() == 0) {
    for (ServiceProcess* service : {&message_, &notify_}) {
      service->running();  // reap, so a crash is noticed
      if (service->exited_unexpectedly()) {
        FAIL_CHECK(service->name() << " exited while the test did not expect it:\n"
                                   << service->diagnostics());
      }
    }
  }
  // Members' destructors kill what still runs.
}

void Relay::start_message() {
  bool first_start = message_port_ == 0;
  INFO(message_.diagnostics());
  REQUIRE_MESSAGE(message_.start(), "message-service did not start");
  if (first_start) {
    message_port_ = message_.port();
    message_.env()["PORT"] = std::to_string(message_port_);  // restarts reuse the port
  } else {
    REQUIRE(message_.port() == message_port_);
  }
}

void Relay::start_notify() {
  INFO(notify_.diagnostics());
  REQUIRE_MESSAGE(notify_.start(), "notify-service did not start");
  REQUIRE(notify_.port() == notify_port_);
  // In accounts mode streams are refused (503) until notify-service has message-service's private
  // channels; tests start from there.
  auto mode = notify_.env().find("AUTH_MODE");
  if (mode != notify_.env().end() && mode->second == "accounts" && message_.running()) {
    bool loaded = eventually([&] {
      HttpResponse health = notify_http().get("/health");
      return health.status == 200 && health.json().value("private_channels", "") == "loaded";
    });
    REQUIRE_MESSAGE(loaded, "notify-service did not load the private channels");
  }
}

std::string Relay::diagnostics() const {
  return message_.diagnostics() + notify_.diagnostics();
}

// ---- message helpers ----

Json post_message(const HttpClient& http, const Json& body, const httplib::Headers& headers) {
  HttpResponse response = http.post_json("/messages", body, headers);
  REQUIRE_MESSAGE(response.status == 201,
                  "POST /messages " << body.dump() << ": " << response.describe());
  Json message = response.json();
  REQUIRE_MESSAGE(message.is_object(), response.describe());
  return message;
}

Json wire_message(int64_t id, const std::string& content, const std::string& channel,
                  const std::string& user, const std::string& to) {
  Json message = {{"id", std::to_string(id)},
                  {"content", content},
                  {"user", user},
                  {"channel", channel},
                  {"timestamp", "2026-11-23T15:22:03.123Z"}};
  if (!to.empty()) message["to"] = to;
  return message;
}

int64_t id_of(const Json& message) {
  REQUIRE_MESSAGE(message.contains("id"), message.dump());
  REQUIRE_MESSAGE(message["id"].is_string(), "id must be a string: " << message.dump());
  auto id = parse_non_negative(message["id"].get<std::string>());
  REQUIRE_MESSAGE(id.has_value(), "id must be digits: " << message.dump());
  return *id;
}

int64_t post_marker(const HttpClient& message_http, const std::string& channel) {
  return id_of(post_message(message_http, {{"content", "marker"}, {"channel", channel}}));
}

bool wait_notify_has(const HttpClient& notify, int64_t id, Millis timeout) {
  return eventually(
      [&] {
        HttpResponse health = notify.get("/health");
        if (health.status != 200) return false;
        Json body = health.json();
        if (!body.is_object() || !body.contains("last_event_id")) return false;
        const Json& last = body["last_event_id"];
        std::optional<int64_t> value;
        if (last.is_string()) value = parse_non_negative(last.get<std::string>());
        if (last.is_number_integer()) value = last.get<int64_t>();
        return value && *value >= id;
      },
      timeout);
}

std::optional<double> metric_value(const std::string& prometheus_text, const std::string& name) {
  std::istringstream lines(prometheus_text);
  std::string line;
  std::optional<double> sum;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos || line.substr(0, name_end) != name) continue;
    size_t value_start = line[name_end] == '{' ? line.find("} ", name_end) : name_end;
    if (value_start == std::string::npos) continue;
    value_start = line.find_first_not_of(" }", value_start);
    if (value_start == std::string::npos) continue;
    try {
      sum = sum.value_or(0) + std::stod(line.substr(value_start));
    } catch (...) {
    }
  }
  return sum;
}

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

std::string compare_ids(const std::vector<int64_t>& got, const std::vector<int64_t>& expected) {
  if (got == expected) return {};
  std::ostringstream out;
  out << "got " << got.size() << " ids, expected " << expected.size() << ".";
  for (size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
    if (got[i] != expected[i]) {
      out << " First difference at index " << i << ": got " << got[i] << ", expected "
          << expected[i] << ".";
      break;
    }
  }
  std::set<int64_t> seen;
  std::vector<int64_t> duplicates;
  size_t out_of_order = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!seen.insert(got[i]).second) duplicates.push_back(got[i]);
    if (i > 0 && got[i] <= got[i - 1]) ++out_of_order;
  }
  std::set<int64_t> wanted(expected.begin(), expected.end());
  std::vector<int64_t> missing;
  std::vector<int64_t> unexpected;
  for (int64_t id : wanted) {
    if (!seen.count(id)) missing.push_back(id);
  }
  for (int64_t id : seen) {
    if (!wanted.count(id)) unexpected.push_back(id);
  }
  auto list = [&out](const char* what, const std::vector<int64_t>& ids) {
    if (ids.empty()) return;
    out << " " << ids.size() << " " << what << ":";
    for (size_t i = 0; i < std::min<size_t>(ids.size(), 20); ++i) out << " " << ids[i];
    if (ids.size() > 20) out << " ...";
    out << ".";
  };
  list("duplicated", duplicates);
  list("missing", missing);
  list("unexpected", unexpected);
  if (out_of_order > 0) out << " " << out_of_order << " not in increasing order.";
  return out.str();
}

}  // namespace relay::itest
