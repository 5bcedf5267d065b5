#pragma once

#include <memory>

#include "notify-service/config.h"
#include "shared/http/router.h"
#include "shared/logfmt.h"

namespace relay {

/// The whole notify-service process: hub and HTTP server, started and stopped in order.
class NotifyService {
 public:
  explicit NotifyService(NotifyServiceConfig config);
  ~NotifyService();
  NotifyService(const NotifyService&) = delete;
  NotifyService& operator=(const NotifyService&) = delete;

  /// Binds the port and logs `msg=listening port=N` as the first line. False when it cannot.
  bool start();
  /// Ends every open stream, then stops the server and joins its threads.
  void stop();
  /// The routes its server matches, in the order it matches them: complete once start() returned
  /// true, unchanged after (any thread). What tests/api's route test compares with
  /// docs/openapi.yaml.
  const std::vector<Route>& routes() const;

 private:
  struct Parts;
  NotifyServiceConfig config_;
  Logger logger_{"notify"};
  std::unique_ptr<Parts> parts_;
};

}  // namespace relay
