#pragma once

// The parts of the integration harness that are about our pair: message-service and
// notify-service started as child processes and wired to each other on free ports with a fresh
// DATA_DIR, and the helpers the tests share to post, to prove what was delivered, and to read
// /health and /metrics. Everything here is for one test case at a time; nothing is shared between
// test cases, so ctest can run them in parallel. Drive it from the test's main thread.

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/support/child_process.h"
#include "tests/support/eventually.h"
#include "tests/support/http_client.h"

namespace relay::itest {

// The test-support library's names (ServiceProcess, HttpClient, RawSocket, SseStream, Millis,
// kPatience, ...) are the harness's names.
using namespace relay::testing;
using namespace std::chrono_literals;

/// The binaries under test: $RELAY_MESSAGE_SERVICE_BIN / $RELAY_NOTIFY_SERVICE_BIN when set, else
/// the paths CMake compiled in.
std::string message_service_binary();
std::string notify_service_binary();

/// The environment both services get in every test unless a test overrides a variable.
struct RelayOptions {
  Environment message_env;    // merged over the defaults
  Environment notify_env;     // merged over the defaults
  bool start_message = true;  // false: notify's MESSAGE_SERVICE_URL points at a closed port
  bool start_notify = true;
};

/// Both services wired to each other on 127.0.0.1: message-service on a free port (PORT=0) with a
/// fresh DATA_DIR, notify-service on a port reserved up front (message-service must know it first),
/// FORWARD_RETRY_MAX_MS=200. The constructor REQUIREs both to start. On destruction it reports a
/// service that exited without the test asking it to, then kills what still runs.
class Relay {
 public:
  explicit Relay(RelayOptions options = {});
  ~Relay();
  Relay(const Relay&) = delete;
  Relay& operator=(const Relay&) = delete;

  ServiceProcess& message() { return message_; }
  ServiceProcess& notify() { return notify_; }
  int message_port() const { return message_port_; }
  int notify_port() const { return notify_port_; }
  HttpClient message_http(Millis timeout = 15s) const { return HttpClient(message_port_, timeout); }
  HttpClient notify_http(Millis timeout = 15s) const { return HttpClient(notify_port_, timeout); }
  const std::string& data_dir() const { return data_dir_; }

  /// (Re)starts notify-service on its port; REQUIREs success.
  void start_notify();
  /// (Re)starts message-service on the same port and DATA_DIR; REQUIREs success.
  void start_message();

  /// Both services' diagnostics, for INFO().
  std::string diagnostics() const;

 private:
  TempDir dir_;
  std::string data_dir_;
  int notify_port_ = 0;
  int message_port_ = 0;
  ServiceProcess message_;
  ServiceProcess notify_;
};

/// POSTs `body` to /messages and REQUIREs a 201; returns the message JSON.
Json post_message(const HttpClient& http, const Json& body, const httplib::Headers& headers = {});

/// The wire form of a message, as message-service sends it to POST /notify.
Json wire_message(int64_t id, const std::string& content, const std::string& channel = "general",
                  const std::string& user = "tester", const std::string& to = "");

/// The numeric value of a message JSON's string "id" (REQUIREs digits).
int64_t id_of(const Json& message);

/// Waits until notify-service's /health says last_event_id >= `id`.
bool wait_notify_has(const HttpClient& notify, int64_t id, Millis timeout = kPatience);

/// Posts a marker to /messages on `channel` (it must be one the streams being checked receive),
/// as whoever `message_http` speaks for, and returns its id; REQUIREs a 201. "Nothing was delivered
/// twice, nothing extra" is proven with it: once a stream has the marker
/// (stream.wait_message_id(marker)), everything posted before it has been sent to that stream too
/// (a stream is delivered in id order), so its ids can be compared with the expected ids followed
/// by the marker, without sleeping.
int64_t post_marker(const HttpClient& message_http, const std::string& channel = "general");

/// The sum of every sample of metric `name` (all label sets) in Prometheus text, or nullopt when
/// the metric has no sample.
std::optional<double> metric_value(const std::string& prometheus_text, const std::string& name);

/// VmRSS of a process in KiB (from /proc/<pid>/status), or -1.
long rss_kib(pid_t pid);

/// "" when `got` equals `expected`; otherwise a short description of how they differ (sizes, first
/// difference, duplicates, missing and unexpected ids, order) for a failure message.
std::string compare_ids(const std::vector<int64_t>& got, const std::vector<int64_t>& expected);

}  // namespace relay::itest
