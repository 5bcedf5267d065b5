#pragma once

// The one raw TCP client of the tests: exact bytes to 127.0.0.1 (garbage, pipelined or half-sent
// requests, a reader that never reads) and exact bytes back, read with deadlines. On top of it,
// reading one HTTP response off the wire: head (response_head.h), then a Content-Length, chunked or
// close-delimited body, and whether the server closed the connection after it.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/eventually.h"
#include "tests/support/response_head.h"

namespace relay::testing {

/// How a connection ended, as far as the reads so far saw.
enum class ConnectionEnd {
  kEof,     // the peer closed it in order (FIN)
  kReset,   // recv failed: reset by the peer (or another socket error)
  kTimeout  // not ended: the last read's deadline passed first
};

/// One HTTP response as RawSocket::read_response() read it.
struct RawResponse : ResponseHead {
  std::string body;  // de-chunked when it was chunked
  /// True when the connection ended (EOF or reset) right after this response: waited for (within
  /// the read's deadline) when the response said `Connection: close` or had a close-delimited
  /// body, otherwise only when the end had already been seen.
  bool closed_after = false;

  /// Head and body, for failure messages.
  std::string describe() const;
};

/// A blocking TCP connection to 127.0.0.1:port. What it receives collects in buffer() until a
/// read takes it. Closed on destruction. One thread drives it; shutdown() alone may be called from
/// another thread, to wake a reader blocked in it.
class RawSocket {
 public:
  /// Connects; `receive_buffer_bytes` > 0 sets SO_RCVBUF before connecting. See connected().
  explicit RawSocket(int port, int receive_buffer_bytes = 0);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  int fd() const { return fd_; }

  /// Sends all of `bytes` (MSG_NOSIGNAL); false when the peer is gone, with errno in send_error().
  bool send_all(std::string_view bytes);
  int send_error() const { return send_error_; }
  /// Half-closes: the server sees the end of the request bytes, the socket still reads.
  void shutdown_write();
  /// Shuts both directions: a read blocked in this socket (on any thread) returns at once.
  void shutdown();
  void close();

  /// Waits up to `wait` for bytes and appends one read's worth to buffer(). False when the
  /// connection has ended (now or before) or nothing came in time; ending() says which.
  bool receive(Millis wait);
  /// Reads until buffer() contains `text`; false when the connection ended or `timeout` passed
  /// first. Nothing is taken from buffer().
  bool read_until(std::string_view text, Millis timeout);
  /// Returns buffer() and what else arrives until the peer closes, at least `max_bytes` are held,
  /// or `timeout` passes; buffer() is empty afterwards.
  std::string read_some(Millis timeout, size_t max_bytes = 1 << 20);
  /// Reads and discards (buffer() too) until the connection ends; true when it did (EOF or reset)
  /// within `timeout`. `bytes_read` gets the bytes discarded.
  bool drain_until_eof(Millis timeout, size_t* bytes_read = nullptr);
  /// Reads, keeping the bytes in buffer(), until the connection ends or `timeout` passes.
  ConnectionEnd wait_end(Millis timeout);

  /// Reads one whole response and takes it from buffer() (bytes after it stay there: the next
  /// pipelined response). A 1xx, 204 or 304 has no body. nullopt, with buffer() untouched, when
  /// no complete, well-framed response arrived within `timeout` (ending() says whether the
  /// connection ended first), or the status line or the framing is not HTTP.
  std::optional<RawResponse> read_response(Millis timeout = 10s);

  /// Everything received and not yet taken by a read.
  std::string& buffer() { return buffer_; }
  /// How the last read ended; kEof and kReset are final.
  ConnectionEnd ending() const { return ending_; }
  bool ended() const { return ending_ != ConnectionEnd::kTimeout; }

 private:
  bool receive_before(Clock::time_point deadline);

  int fd_ = -1;
  int send_error_ = 0;
  std::string buffer_;
  ConnectionEnd ending_ = ConnectionEnd::kTimeout;
};

}  // namespace relay::testing
