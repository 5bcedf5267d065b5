#include "tests/support/nginx_server.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "tests/support/http_client.h"

namespace relay::testing {
namespace {

std::string nginx_binary() {
  const char* path = std::getenv("RELAY_NGINX_BIN");
  return path != nullptr && *path != '\0' ? path : "/usr/sbin/nginx";
}

std::string instance_list(const std::vector<int>& ports) {
  std::string list;
  for (int port : ports) list += "127.0.0.1:" + std::to_string(port) + " ";
  return list;
}

}  // namespace

std::string scripts_dir() {
  return RELAY_SOURCE_DIR "/scripts";
}

NginxServer::NginxServer(std::string dir, std::vector<int> message_ports,
                         std::vector<int> notify_ports)
    : dir_(std::move(dir)),
      message_ports_(std::move(message_ports)),
      notify_ports_(std::move(notify_ports)),
      process_("nginx", nginx_binary(), {}) {}

std::string NginxServer::diagnostics() const {
  std::ifstream log(dir_ + "/error.log");
  std::stringstream text;
  text << log.rdbuf();
  return process_.diagnostics() + "  nginx error.log:\n" + text.str();
}

bool NginxServer::start(Millis timeout) {
  // Ports found free may be taken before nginx binds them: then try others.
  for (int attempt = 0; attempt < 5; ++attempt) {
    api_port_ = reserve_free_port();
    stream_port_ = reserve_free_port();
    std::string conf = dir_ + "/nginx.conf";
    std::string command = "bash '" + scripts_dir() + "/nginx-conf.sh' '" + dir_ + "' " +
                          std::to_string(api_port_) + " " + std::to_string(stream_port_) + " '" +
                          instance_list(message_ports_) + "' '" + instance_list(notify_ports_) +
                          "' > '" + conf + "'";
    if (std::system(command.c_str()) != 0) return false;
    // One process (no master and worker): it dies with the test however the test ends, where a
    // worker would outlive a killed master and keep the ports.
    process_.set_args({"-c", conf, "-p", dir_, "-g", "daemon off; master_process off;"});
    if (!process_.spawn()) return false;
    HttpClient api(api_port_, 2s);
    bool up = eventually([&] { return !process_.running() || api.get("/health").status == 200; },
                         timeout);
    if (up && process_.running()) return true;
    process_.kill9();
  }
  return false;
}

}  // namespace relay::testing
