#pragma once

// The integration-test harness: runs the real service binaries as child processes on free ports
// with a fresh temp dir, and talks to them over real HTTP and SSE. Everything here is for one test
// case at a time; nothing is shared between test cases, so ctest can run them in parallel.
//
// Waits take deadlines and poll; nothing asserts on how long something took except where a test
// says so with a generous bound.

#include <sys/types.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "shared/sse.h"

namespace relay::itest {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;
using Json = nlohmann::json;

/// How long a test waits for something that should happen soon (a message to arrive, a service to
/// start) before failing. Generous: a loaded CI machine must not make a correct service fail.
inline constexpr Millis kPatience = 60s;

/// Calls `condition` every 20 ms until it returns true or `timeout` passes; returns the last
/// result.
bool eventually(const std::function<bool()>& condition, Millis timeout = kPatience);

/// The binaries under test: $RELAY_MESSAGE_SERVICE_BIN / $RELAY_NOTIFY_SERVICE_BIN when set, else
/// the paths CMake compiled in.
std::string message_service_binary();
std::string notify_service_binary();

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// Creates (if needed) and returns the subdirectory `name`.
  std::string subdir(const std::string& name) const;

 private:
  std::string path_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago: binds port 0, reads the port, closes.
int reserve_free_port();

/// How a child process ended.
struct ExitStatus {
  bool exited = false;  // true: normal exit with `code`; false: killed by `signal`
  int code = -1;
  int signal = 0;

  bool clean() const { return exited && code == 0; }
  std::string describe() const;
};

/// The environment of a child process: exactly these variables (plus the sanitizer option
/// variables of the test process, when set), nothing else inherited.
using Environment = std::map<std::string, std::string>;

/// One service binary run as a child process, with stdout and stderr piped to the test and drained
/// by a reader thread (so the child never blocks on a full pipe). The first stdout line must be the
/// `msg=listening ... port=N` log line. Can be started again after it stopped (a restart).
/// Not thread-safe: drive it from the test's main thread, which must outlive the child (the child
/// gets SIGKILL when the thread that spawned it exits, so no process outlives a crashed test).
class ServiceProcess {
 public:
  ServiceProcess(std::string name, std::string binary, Environment env);
  /// Kills the child (SIGKILL) if it still runs.
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  /// The environment the next spawn() uses; edit it before a restart.
  Environment& env() { return env_; }
  /// Command-line arguments (after argv[0]) and a file to read as stdin (default /dev/null) for
  /// the next spawn(): for running a client such as `relay` rather than a service.
  void set_args(std::vector<std::string> args) { args_ = std::move(args); }
  void set_stdin_file(std::string path) { stdin_path_ = std::move(path); }
  const std::string& name() const { return name_; }

  /// Starts the child and returns at once. False when it could not be started (see diagnostics()).
  bool spawn();
  /// spawn(), then waits for the listening line. False when the child exited, printed a first line
  /// without `port=`, or printed nothing within `timeout`; diagnostics() says which.
  bool start(Millis timeout = kPatience);
  /// Waits for the first stdout line and parses `port=`; true when a port was found.
  bool wait_listening(Millis timeout = kPatience);

  /// The port from the listening line (0 before it arrived).
  int port() const;
  pid_t pid() const { return pid_; }
  /// True while the child has not been reaped.
  bool running();

  /// Sends `signal_number` to the child (by PID) if it runs.
  void send_signal(int signal_number);
  /// Sends SIGTERM and returns at once; the exit that follows counts as asked for.
  void terminate();
  /// Waits up to `timeout` for the child to exit and reaps it.
  std::optional<ExitStatus> wait_exit(Millis timeout);
  /// SIGTERM, then SIGKILL if it has not exited within `grace`. `took` gets the time until exit.
  ExitStatus stop(Millis grace = 10s, Millis* took = nullptr);
  /// SIGKILL, and reap.
  ExitStatus kill9();

  /// The last exit status, once reaped.
  std::optional<ExitStatus> exit_status() const { return exit_status_; }
  /// True when the child exited although the test neither stopped nor killed it.
  bool exited_unexpectedly() const { return exit_status_.has_value() && !stopped_by_test_; }

  /// The first stdout line of the current run (empty until it arrives).
  std::string first_line() const;
  /// The last stdout lines kept (up to a few hundred) and everything on stderr (bounded).
  std::vector<std::string> stdout_lines() const;
  std::string stderr_text() const;
  /// Name, PID, state, the last `lines` stdout lines and stderr: for failure messages.
  std::string diagnostics(size_t lines = 30) const;

 private:
  void read_output(int stdout_fd, int stderr_fd);
  void join_reader();

  std::string name_;
  std::string binary_;
  Environment env_;
  std::vector<std::string> args_;
  std::string stdin_path_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> exit_status_;
  bool stopped_by_test_ = false;
  std::string spawn_error_;
  std::thread reader_;

  mutable std::mutex mutex_;
  std::condition_variable output_changed_;
  std::string first_line_;              // guarded by mutex_
  bool first_line_seen_ = false;        // guarded by mutex_
  bool output_closed_ = false;          // guarded by mutex_
  std::deque<std::string> last_lines_;  // guarded by mutex_
  std::string stderr_;                  // guarded by mutex_
  int port_ = 0;                        // guarded by mutex_
};

/// One HTTP response, or why there was none.
struct HttpResponse {
  int status = 0;  // 0 when the request failed before a response
  std::string error;
  std::string body;
  httplib::Headers headers;

  bool ok() const { return status != 0; }
  /// The header's value ("" when absent); names are case-insensitive.
  std::string header(const std::string& name) const;
  bool has_header(const std::string& name) const;
  /// The body parsed as JSON (a discarded value when it is not JSON).
  Json json() const;
  /// "status 400 body {...}" or "no response: <error>", for failure messages.
  std::string describe() const;
};

/// Plain HTTP/1.1 requests to 127.0.0.1:port; one fresh connection per request (no keep-alive
/// races in retries or restarts). Safe to use from several threads at once.
class HttpClient {
 public:
  explicit HttpClient(int port, Millis timeout = 15s) : port_(port), timeout_(timeout) {}

  HttpResponse get(const std::string& path, const httplib::Headers& headers = {}) const;
  HttpResponse post(const std::string& path, const std::string& body,
                    const std::string& content_type, const httplib::Headers& headers = {}) const;
  HttpResponse post_json(const std::string& path, const Json& body,
                         const httplib::Headers& headers = {}) const;
  HttpResponse del(const std::string& path) const;
  HttpResponse options(const std::string& path) const;

  int port() const { return port_; }

 private:
  int port_;
  Millis timeout_;
};

/// A blocking TCP connection to 127.0.0.1 for speaking raw bytes (garbage input, a reader that
/// never reads). Closed on destruction.
class RawSocket {
 public:
  /// Connects; `receive_buffer_bytes` > 0 sets SO_RCVBUF before connecting.
  explicit RawSocket(int port, int receive_buffer_bytes = 0);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  /// Sends all of `bytes` (MSG_NOSIGNAL); false when the peer is gone.
  bool send_all(std::string_view bytes);
  /// Reads whatever arrives until the peer closes, `max_bytes` were read, or `timeout` passes.
  std::string read_some(Millis timeout, size_t max_bytes = 1 << 20);
  /// Reads and discards until the peer closes the connection; true when it did within `timeout`.
  bool drain_until_eof(Millis timeout, size_t* bytes_read = nullptr);
  void close();

 private:
  /// One recv() once data is ready: the byte count, 0 when the peer closed (or reset), -1 when
  /// `deadline` passed first or the socket is closed.
  ssize_t receive_before(Clock::time_point deadline, char* buffer, size_t size);

  int fd_ = -1;
};

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

/// The sum of every sample of metric `name` (all label sets) in Prometheus text, or nullopt when
/// the metric has no sample.
std::optional<double> metric_value(const std::string& prometheus_text, const std::string& name);

/// VmRSS of a process in KiB (from /proc/<pid>/status), or -1.
long rss_kib(pid_t pid);

/// "" when `got` equals `expected`; otherwise a short description of how they differ (sizes, first
/// difference, duplicates, missing and unexpected ids, order) for a failure message.
std::string compare_ids(const std::vector<int64_t>& got, const std::vector<int64_t>& expected);

/// One `event: message` as a stream reader received it.
struct StreamMessage {
  int64_t id = 0;
  Json data;
};

/// A reader of GET /events on its own thread, speaking raw HTTP/1.1 (chunked or not) and feeding
/// the body to SseParser. Records the status, headers, every event, comments and `retry:`. Checks
/// each message event as it arrives (numeric id equal to the data's "id", "type":"message", JSON
/// data) and records violations in problems(). Accessors are thread-safe.
class SseStream {
 public:
  /// Connects to 127.0.0.1:port and sends `GET target` (path and query) with `headers`.
  SseStream(int port, std::string target, httplib::Headers headers = {});
  /// stop()s.
  ~SseStream();
  SseStream(const SseStream&) = delete;
  SseStream& operator=(const SseStream&) = delete;

  /// Asks the reader to disconnect without waiting (to close many streams quickly).
  void request_stop();
  /// Disconnects and joins the reader thread. Idempotent.
  void stop();

  /// Waits for the response head and, for a 200, the `connected` event. True for a 200 that
  /// delivered `connected`.
  bool wait_connected(Millis timeout = kPatience);
  /// Waits until at least `count` message events arrived.
  bool wait_messages(size_t count, Millis timeout = kPatience);
  /// Waits until a message with id >= `id` arrived.
  bool wait_message_id(int64_t id, Millis timeout = kPatience);
  /// Waits until the server ended the stream (or the connection failed).
  bool wait_ended(Millis timeout = kPatience);
  /// Waits until `condition` (which may call this object's accessors) holds.
  bool wait_until(const std::function<bool()>& condition, Millis timeout = kPatience);

  int status() const;
  std::string header(const std::string& name) const;
  /// The body of a non-200 response.
  std::string body() const;
  /// The first 64 KiB of the (de-chunked) body as received.
  std::string raw_prefix() const;
  std::vector<SseEvent> events() const;
  std::vector<StreamMessage> messages() const;
  std::vector<int64_t> message_ids() const;
  size_t message_count() const;
  /// Events whose type is `type`.
  size_t count_events(const std::string& type) const;
  size_t comment_count() const;
  int retry_ms() const;
  bool ended() const;
  /// What went wrong at the transport level ("" if nothing).
  std::string error() const;
  /// Contract violations seen in message events.
  std::vector<std::string> problems() const;
  /// Status, counts, last ids and errors, for failure messages.
  std::string describe() const;

 private:
  void run();
  void on_body(std::string_view bytes);
  void on_event(const SseEvent& event);
  bool parse_head(const std::string& head);
  void finish(std::string error);

  int port_;
  std::string target_;
  httplib::Headers request_headers_;
  int fd_ = -1;
  std::atomic<bool> stop_requested_{false};
  std::thread reader_;
  SseParser parser_;  // used only by the reader thread

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  int status_ = 0;                              // guarded by mutex_
  std::map<std::string, std::string> headers_;  // guarded by mutex_ (lower-case names)
  bool head_done_ = false;                      // guarded by mutex_
  bool connected_ = false;                      // guarded by mutex_
  bool ended_ = false;                          // guarded by mutex_
  std::string error_;                           // guarded by mutex_
  std::string body_;                            // guarded by mutex_ (non-200 only)
  std::string raw_prefix_;                      // guarded by mutex_
  std::vector<SseEvent> events_;                // guarded by mutex_
  std::vector<StreamMessage> messages_;         // guarded by mutex_
  std::vector<std::string> problems_;           // guarded by mutex_
  size_t comments_ = 0;                         // guarded by mutex_
  int retry_ms_ = -1;                           // guarded by mutex_
};

}  // namespace relay::itest
