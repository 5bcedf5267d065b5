#pragma once

#include <memory>

#include "shared/http/http_reply.h"

namespace relay {

namespace detail {
/// What a Responder hands its reply to; implemented by the server's loop.
class ReplySink {
 public:
  virtual ~ReplySink() = default;
  virtual void deliver(uint64_t connection_id, uint64_t request_serial, HttpReply reply) = 0;
};
struct ResponderState;
}  // namespace detail

/// The right to answer one request later, from any thread: an async route keeps it and calls
/// send() once. Copyable (copies share the one answer); the first send() wins, later ones are
/// ignored. If every copy is destroyed without send(), the request is answered 500, so no client
/// waits for ever. If the connection closed meanwhile, the answer is dropped. Thread-safe.
class Responder {
 public:
  Responder() = default;
  Responder(std::shared_ptr<detail::ReplySink> sink, uint64_t connection_id,
            uint64_t request_serial);
  /// Answers the request. The reply must not be a stream or later().
  void send(HttpReply reply) const;
  explicit operator bool() const { return state_ != nullptr; }

 private:
  std::shared_ptr<detail::ResponderState> state_;
};

}  // namespace relay
