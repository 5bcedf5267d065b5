#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "bench/load/load_options.h"
#include "shared/sse.h"
#include "tests/support/chunked_decoder.h"

namespace relay::load {

/// Many SSE streams to 127.0.0.1:<port> (relay's `GET /events?client_id=load-<i>` or nchan's
/// subscriber location, see server_dialect.h), read from one thread with non-blocking sockets and
/// epoll. Streams are opened at most `max_connecting` at a time: the next starts when one is open
/// (relay: its `event: connected` arrived; nchan: its first body bytes). Each stream's body is
/// de-chunked when chunked and fed to its own SseParser; `message` events go to the sink with the
/// subscriber's index. Owns every socket; not thread-safe (one thread calls everything).
class SubscriberPool {
 public:
  using MessageSink = std::function<void(size_t subscriber, const SseEvent& event)>;

  SubscriberPool(Target target, int port, std::string nchan_path, size_t subscribers,
                 size_t max_connecting, MessageSink sink);
  ~SubscriberPool();
  SubscriberPool(const SubscriberPool&) = delete;
  SubscriberPool& operator=(const SubscriberPool&) = delete;

  /// Starts streams up to the in-progress cap, then waits at most `timeout_ms` for socket activity
  /// and handles it. Returns false when epoll itself fails.
  bool poll(int timeout_ms);

  /// True once every stream has either opened or failed.
  bool opening_done() const { return next_to_open_ == streams_.size() && in_progress_ == 0; }
  size_t connected() const { return connected_; }
  size_t failed() const { return failed_; }
  /// Streams that ended after they had connected (server closed them or framing broke).
  size_t closed_after_connect() const { return closed_after_connect_; }
  size_t resets() const { return resets_; }
  /// Which subscribers ever connected.
  std::vector<bool> connected_flags() const;

 private:
  enum class Phase { kConnecting, kSending, kHeaders, kBody, kClosed };
  struct Stream {
    int fd = -1;
    Phase phase = Phase::kConnecting;
    bool connected = false;
    bool chunked = false;
    std::string pending_out;
    std::string head;
    // Other servers (nchan) are read too: a bare LF is taken where CRLF belongs.
    testing::ChunkedDecoder decoder{testing::ChunkedDecoder::LineEnds::kCrlfOrLf};
    std::unique_ptr<SseParser> parser;
  };

  void open(size_t index);
  void on_ready(size_t index, uint32_t events);
  void on_writable(size_t index);
  void on_readable(size_t index);
  bool take_headers(Stream& stream, std::string_view* rest);
  void feed_body(size_t index, std::string_view bytes);
  void on_event(size_t index, const SseEvent& event);
  void mark_connected(Stream& stream);
  /// Registers (or changes) what epoll reports for a stream; closes the stream if epoll refuses.
  void watch(size_t index, int operation, uint32_t events);
  void close_stream(size_t index);

  Target target_;
  int port_;
  std::string nchan_path_;
  size_t max_connecting_;
  MessageSink sink_;
  int epoll_fd_ = -1;
  std::vector<Stream> streams_;
  size_t next_to_open_ = 0;
  size_t in_progress_ = 0;
  size_t connected_ = 0;
  size_t failed_ = 0;
  size_t closed_after_connect_ = 0;
  size_t resets_ = 0;
  std::string read_buffer_;
  std::string decoded_;
};

}  // namespace relay::load
