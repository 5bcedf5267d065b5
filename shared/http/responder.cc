#include "shared/http/responder.h"

#include <atomic>

namespace relay {

namespace detail {

// The one answer all copies of a Responder share. Its destructor answers 500 when nobody did.
struct ResponderState {
  ResponderState(std::shared_ptr<ReplySink> reply_sink, uint64_t connection, uint64_t serial)
      : sink(std::move(reply_sink)), connection_id(connection), request_serial(serial) {}
  ~ResponderState() {
    if (sent.exchange(true)) return;
    sink->deliver(connection_id, request_serial,
                  HttpReply::error({500, "internal_error", "the request was never answered"}));
  }
  ResponderState(const ResponderState&) = delete;
  ResponderState& operator=(const ResponderState&) = delete;

  std::shared_ptr<ReplySink> sink;
  uint64_t connection_id;
  uint64_t request_serial;
  std::atomic<bool> sent{false};
};

}  // namespace detail

Responder::Responder(std::shared_ptr<detail::ReplySink> sink, uint64_t connection_id,
                     uint64_t request_serial)
    : state_(std::make_shared<detail::ResponderState>(std::move(sink), connection_id,
                                                      request_serial)) {}

void Responder::send(HttpReply reply) const {
  if (!state_ || state_->sent.exchange(true)) return;
  state_->sink->deliver(state_->connection_id, state_->request_serial, std::move(reply));
}

}  // namespace relay
