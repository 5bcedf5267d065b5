#pragma once

// Support for the hostile-traffic tests (hostile_*_test.cc): a raw client connection that sends
// exactly the bytes a test wrote and reads whole answers off the wire, and a Witness that checks,
// after each attack, that the attack changed nothing and both services still serve.
//
// Kept out of harness.* on purpose (that is being split into tests/support/); it only uses the
// harness's public names, so it can move there as it is.

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/harness.h"

namespace relay::itest {

/// One HTTP response as read off a raw connection.
struct WireAnswer {
  int status = 0;
  std::string head;  // status line and header lines, with the blank line
  std::string body;  // de-chunked when the answer was chunked

  /// The first value of header `name` (any case), "" when absent.
  std::string header(std::string_view name) const;
  bool has_header(std::string_view name) const;
  /// The body parsed as JSON (a discarded value when it is not JSON).
  Json json() const;
  /// The head and (the start of) the body, for failure messages.
  std::string describe() const;
};

/// How a connection ended when a test read until its end.
enum class WireEnd { kClosed, kReset, kStillOpen };

/// "closed", "reset" or "still open", for failure messages.
std::string describe(WireEnd end);

/// A blocking TCP connection to 127.0.0.1 that sends raw bytes and reads answers one at a time.
/// Every call takes a deadline. Not thread-safe; closed on destruction.
class HostileWire {
 public:
  explicit HostileWire(int port);
  ~HostileWire();
  HostileWire(const HostileWire&) = delete;
  HostileWire& operator=(const HostileWire&) = delete;

  bool connected() const { return fd_ >= 0; }
  /// Sends `bytes` until all went out, the peer closed or reset, or `timeout` passed; returns how
  /// many bytes the kernel took (all of them on success).
  size_t send(std::string_view bytes, Millis timeout = 10s);
  bool send_all(std::string_view bytes, Millis timeout = 10s) {
    return send(bytes, timeout) == bytes.size();
  }
  /// shutdown(SHUT_WR): the server reads EOF after what was sent.
  void shutdown_write();

  /// Reads the next whole answer: the head, then a body framed by Content-Length, by chunked
  /// encoding, or (with neither) by the close. nullopt when the connection ended first or
  /// `timeout` passed.
  std::optional<WireAnswer> read_answer(Millis timeout = 10s);
  /// Reads only the next answer's head (for streams, whose body does not end).
  std::optional<WireAnswer> read_head(Millis timeout = 10s);
  /// Reads the body of the answer whose head read_head() returned into `answer`; false when the
  /// connection ended first or `timeout` passed.
  bool read_body(WireAnswer& answer, Millis timeout = 10s);
  /// Reads (keeping what arrives in buffer()) until the peer closes or resets, or `timeout`.
  WireEnd wait_end(Millis timeout);
  /// True when the peer has closed or reset the connection (non-blocking check).
  bool ended_now();

  /// Bytes received and not taken by read_answer() / read_head().
  const std::string& buffer() const { return buffer_; }
  void close();

 private:
  // Appends one recv() to buffer_; false when the connection ended or `deadline` passed.
  bool receive(Clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;
  WireEnd end_ = WireEnd::kStillOpen;
};

/// What an attack must be answered with.
struct Refusal {
  int status = 400;
  std::string error;   // the JSON "error" code expected, "" for any
  bool closes = true;  // the server must close the connection after the answer
};

/// Connections on which the server must close after its answer. A server that keeps a
/// connection alive would close it anyway once idle, so each connection is handed one more
/// request (GET /health) as it is added: the server must neither answer it nor keep the
/// connection open. All are checked against one shared deadline, so a service that keeps many
/// open costs one timeout, not one per case. Main test thread only.
class CloseWatch {
 public:
  CloseWatch() = default;
  CloseWatch(const CloseWatch&) = delete;
  CloseWatch& operator=(const CloseWatch&) = delete;

  /// Takes `wire`, whose answer was just read, and sends the follow-up request on it.
  void add(std::string what, std::unique_ptr<HostileWire> wire);
  /// CHECKs every connection added since the last check() ended (closed or reset) within
  /// `timeout` without answering anything more; then forgets them.
  void check(Millis timeout = 3s);

 private:
  std::vector<std::pair<std::string, std::unique_ptr<HostileWire>>> wires_;
};

/// Sends `request` on a new connection to `port` (a send that fails part way is fine: the server
/// may answer and close before it read everything), then CHECKs that an answer comes within 5 s
/// with `refusal`'s status and a JSON body {"error", "detail"}. When `refusal.closes`, the
/// connection goes to `closes` (checked later by the caller), or is checked at once when
/// `closes` is null. `what` names the case in failure messages. Returns the answer (nullopt when
/// none came).
std::optional<WireAnswer> expect_refusal(const std::string& what, int port,
                                         std::string_view request, const Refusal& refusal,
                                         CloseWatch* closes = nullptr);

/// CHECKs that `answer` is `status` with a JSON body holding a non-empty "error" (equal to
/// `error` unless that is "") and a non-empty "detail". False when the status or the body's shape
/// was wrong (reported once).
bool check_json_error(const std::optional<WireAnswer>& answer, int status,
                      const std::string& error = "");

/// A request with `headers` (each line without its CRLF) and `body`, framed by nothing but what
/// the caller wrote: no Host or Content-Length is added.
std::string raw_request(std::string_view request_line, const std::vector<std::string>& headers,
                        std::string_view body = "");

/// A well-formed POST /messages with a JSON body (Host and Content-Length included).
std::string post_messages_request(const std::string& json_body,
                                  const std::string& extra_headers = "");
/// A well-formed POST /notify with a JSON body (Host and Content-Length included).
std::string post_notify_request(const std::string& json_body,
                                const std::string& extra_headers = "");

/// Watches both services of a Relay across a series of attacks. It keeps a stream open on
/// notify-service and a copy of message-service's history, and after each attack checks:
/// - both processes still run, and GET /health on a new connection answers 200 on both;
/// - the stream saw no event and nothing was stored: a marker message posted to message-service
///   is the only new message on the stream, and the history is the old one plus the marker.
/// The marker also proves the forwarder -> notify path still delivers. Main test thread only.
class Witness {
 public:
  explicit Witness(Relay& relay);
  Witness(const Witness&) = delete;
  Witness& operator=(const Witness&) = delete;

  /// Runs the checks above; `what` names the attack in failure messages.
  void check_unharmed(const std::string& what);
  /// The id of the newest stored message (0 when none).
  int64_t newest_id() const;
  /// True when some stored message's content holds `text`.
  bool history_contains(const std::string& text) const;

 private:
  // "id|channel|user|content" of each message in GET /messages?limit=1000, oldest first.
  std::vector<std::string> history() const;

  Relay& relay_;
  std::unique_ptr<SseStream> stream_;
  std::vector<std::string> history_;  // as of the last check
  size_t stream_seen_ = 0;            // messages on the stream as of the last check
  int markers_ = 0;
};

}  // namespace relay::itest
