#pragma once

#include <memory>

#include "message-service/config.h"
#include "shared/http/router.h"
#include "shared/logfmt.h"

namespace relay {

/// The whole message-service process: store, forwarder and HTTP server, wired together and
/// started/stopped in the right order.
class MessageService {
 public:
  explicit MessageService(MessageServiceConfig config);
  ~MessageService();
  MessageService(const MessageService&) = delete;
  MessageService& operator=(const MessageService&) = delete;

  /// Opens the store, binds the port, logs `msg=listening port=N` as the first line, then starts
  /// forwarding. Returns false (after logging why) when it cannot start.
  bool start();
  /// Stops accepting requests, finishes those in flight, stops the forwarder and closes the store.
  void stop();
  /// The routes its server matches, in the order it matches them: complete once start() returned
  /// true, unchanged after (any thread). What tests/api's route test compares with
  /// docs/openapi.yaml.
  const std::vector<Route>& routes() const;

 private:
  /// AUTH_MODE=accounts: the account store, the token key (created in DATA_DIR on first start),
  /// the sessions already ended, the authenticator and the /auth routes.
  bool start_accounts();
  /// STORE=postgres, on the ClusterWatch's thread: brings the channel directory and the ended
  /// sessions up to what every instance committed.
  void catch_up_with_cluster();

  struct Parts;
  MessageServiceConfig config_;
  Logger logger_{"message"};
  std::unique_ptr<Parts> parts_;
};

}  // namespace relay
