#pragma once

#include <string>
#include <vector>

#include "tests/support/child_process.h"
#include "tests/support/eventually.h"

namespace relay::testing {

/// A real nginx (Debian's nginx-light; $RELAY_NGINX_BIN overrides the path) run by a test in front
/// of relay instances, with the configuration operators get: scripts/nginx-conf.sh, the message
/// API on one free port and the streams on another, run as one process (`master_process off`, so
/// nothing outlives the test). Killed when destroyed. Drive it from the
/// test's main thread.
class NginxServer {
 public:
  /// `dir`: nginx's prefix (configuration, pid, error log). The ports: the instances behind it.
  NginxServer(std::string dir, std::vector<int> message_ports, std::vector<int> notify_ports);
  NginxServer(const NginxServer&) = delete;
  NginxServer& operator=(const NginxServer&) = delete;

  /// Writes the configuration, starts nginx and waits until the API port answers /health; false
  /// (see diagnostics()) when it did not.
  bool start(Millis timeout = kPatience);
  int api_port() const { return api_port_; }
  int stream_port() const { return stream_port_; }
  std::string diagnostics() const;

 private:
  std::string dir_;
  std::vector<int> message_ports_;
  std::vector<int> notify_ports_;
  int api_port_ = 0;
  int stream_port_ = 0;
  ServiceProcess process_;
};

/// The checkout's scripts/ directory (where nginx-conf.sh and cluster.sh are).
std::string scripts_dir();

}  // namespace relay::testing
