#pragma once

#include <memory>
#include <string>
#include <vector>

#include "shared/message.h"

namespace relay {

/// Where message-service hands its events for the notify-services: POST /notify of one
/// notify-service (BROKER=direct, DirectBus) or a Redis stream every notify-service reads
/// (BROKER=redis, RedisBus). Implementations are thread-safe as stated per method.
class EventBus {
 public:
  virtual ~EventBus() = default;

  /// Delivers stored events, in id order; true once the far side holds them all (a resend of an
  /// event it holds is not an error), else false with the reason. Only the forwarder's thread.
  virtual bool send(const std::vector<Message>& batch, std::string* error) = 0;
  /// Delivers one transient event (typing) now; true when it was taken. Any thread.
  virtual bool send_transient(const Message& event, std::string* error) = 0;
  /// Delivers the current private channel table now (after a membership change), so open streams
  /// follow it without waiting for the next event; true when it was taken. Any thread.
  virtual bool send_memberships(std::string* error) = 0;
  /// Whether the far side answers within `timeout_ms`, for /health. Any thread.
  virtual bool reachable(int timeout_ms) = 0;
  /// "direct" or "redis".
  virtual const char* name() const = 0;
  /// Who takes the events, for logs and errors: "notify-service" or "Redis".
  virtual const char* far_side() const = 0;
};

}  // namespace relay
