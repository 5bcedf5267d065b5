#pragma once

#include <memory>
#include <string>
#include <vector>

#include "shared/message.h"

namespace httplib {
class Client;
}

namespace relay {

/// The outbound HTTP connection to notify-service's POST /notify, kept alive between batches.
/// Not thread-safe: one instance per calling thread (the forwarder has one).
class NotifyClient {
 public:
  /// `base_url` like http://127.0.0.1:8081; `token` is sent as a Bearer token when non-empty.
  NotifyClient(const std::string& base_url, std::string token);
  ~NotifyClient();
  NotifyClient(const NotifyClient&) = delete;
  NotifyClient& operator=(const NotifyClient&) = delete;

  /// POSTs the batch as a JSON array; true on a 2xx answer, else false with the reason.
  bool send(const std::vector<Message>& batch, std::string* error);

 private:
  std::unique_ptr<httplib::Client> client_;
  std::string token_;
};

/// True when notify-service's GET /health answers 200 within `timeout_ms`. Any thread.
bool probe_notify_service(const std::string& base_url, int timeout_ms);

}  // namespace relay
