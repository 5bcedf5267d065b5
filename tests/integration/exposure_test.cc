// Where the services listen and who they let in (AUTH_MODE, BIND_ADDRESS, ALLOW_OPEN_NETWORK): in
// open mode a user is whatever a client types, so by default both services listen on loopback
// only, and a network address needs the operator to say so. Tried against the real binaries.

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

#include <doctest/doctest.h>

#include "tests/integration/harness.h"

namespace relay::itest {

namespace {

/// An IPv4 address of this host that is not loopback, or empty when it has none.
std::string non_loopback_ipv4() {
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return "";
  std::string found;
  for (ifaddrs* entry = list; entry != nullptr && found.empty(); entry = entry->ifa_next) {
    if (entry->ifa_addr == nullptr || entry->ifa_addr->sa_family != AF_INET) continue;
    auto* address = reinterpret_cast<sockaddr_in*>(entry->ifa_addr);
    if ((ntohl(address->sin_addr.s_addr) >> 24) == 127) continue;
    char text[INET_ADDRSTRLEN] = {};
    if (::inet_ntop(AF_INET, &address->sin_addr, text, sizeof(text)) != nullptr) found = text;
  }
  ::freeifaddrs(list);
  return found;
}

/// True when a TCP connection to `ipv4:port` is accepted.
bool accepts_tcp(const std::string& ipv4, int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, ipv4.c_str(), &address.sin_addr);
  bool connected = ::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  ::close(fd);
  return connected;
}

struct Service {
  std::string name;
  std::string binary;
  Environment base;  // PORT=0 and what the service needs, no BIND_ADDRESS
};

std::vector<Service> both_services(const TempDir& dir) {
  const std::string closed = "http://127.0.0.1:" + std::to_string(reserve_free_port());
  return {{"message-service",
           message_service_binary(),
           {{"PORT", "0"}, {"DATA_DIR", dir.subdir("data")}, {"NOTIFICATION_SERVICE_URL", closed}}},
          {"notify-service",
           notify_service_binary(),
           {{"PORT", "0"}, {"MESSAGE_SERVICE_URL", closed}}}};
}

/// Runs the service with `env` and checks that it refused to start: exit code 2 and one line on
/// stderr that contains every one of `words`.
void check_refused(const Service& service, const Environment& env,
                   std::initializer_list<const char*> words) {
  ServiceProcess process(service.name, service.binary, env);
  REQUIRE_MESSAGE(process.spawn(), process.diagnostics());
  std::optional<ExitStatus> status = process.wait_exit(20s);
  REQUIRE_MESSAGE(status.has_value(), "still running: " << process.diagnostics());
  CHECK_MESSAGE((status->exited && status->code == 2), process.diagnostics());
  std::string error = process.stderr_text();
  CHECK_MESSAGE(std::count(error.begin(), error.end(), '\n') == 1, "stderr: " << error);
  for (const char* word : words) CHECK_MESSAGE(error.find(word) != std::string::npos, error);
  CHECK_MESSAGE(process.first_line().find("msg=listening") == std::string::npos,
                process.diagnostics());
}

}  // namespace

TEST_SUITE_BEGIN("exposure");

TEST_CASE("exposure: by default both services listen on loopback only") {
  TempDir dir;
  const std::string lan = non_loopback_ipv4();
  for (const Service& service : both_services(dir)) {
    CAPTURE(service.name);
    ServiceProcess process(service.name, service.binary, service.base);
    REQUIRE_MESSAGE(process.start(), process.diagnostics());
    CHECK_MESSAGE(process.first_line().find("address=127.0.0.1") != std::string::npos,
                  process.first_line());
    CHECK(accepts_tcp("127.0.0.1", process.port()));
    if (!lan.empty()) {
      CAPTURE(lan);
      CHECK_FALSE(accepts_tcp(lan, process.port()));
    } else {
      MESSAGE("this host has no non-loopback IPv4 address: only the loopback side was checked");
    }
    CHECK(process.stop().clean());
  }
}

TEST_CASE(
    "exposure: an open service on a network address refuses to start without "
    "ALLOW_OPEN_NETWORK=1") {
  TempDir dir;
  for (const Service& service : both_services(dir)) {
    CAPTURE(service.name);
    for (const char* address : {"0.0.0.0", "::", "192.0.2.10"}) {
      CAPTURE(address);
      Environment env = service.base;
      env["BIND_ADDRESS"] = address;
      env["NOTIFY_TOKEN"] = "a-token-that-is-not-the-reason";
      check_refused(service, env, {"BIND_ADDRESS", "ALLOW_OPEN_NETWORK=1", "AUTH_MODE=open"});
      env["ALLOW_OPEN_NETWORK"] = "0";
      check_refused(service, env, {"ALLOW_OPEN_NETWORK=1"});
    }
    Environment env = service.base;
    env["AUTH_MODE"] = "anyone";
    check_refused(service, env, {"AUTH_MODE", "open"});
    env = service.base;
    env["ALLOW_OPEN_NETWORK"] = "maybe";
    check_refused(service, env, {"ALLOW_OPEN_NETWORK"});
  }
}

TEST_CASE("exposure: notify-service off loopback also needs NOTIFY_TOKEN") {
  TempDir dir;
  Service notify = both_services(dir)[1];
  Environment env = notify.base;
  env["BIND_ADDRESS"] = "0.0.0.0";
  env["ALLOW_OPEN_NETWORK"] = "1";
  check_refused(notify, env, {"NOTIFY_TOKEN"});
}

TEST_CASE("exposure: broker and store settings that cannot work are refused at start") {
  TempDir dir;
  for (const Service& service : both_services(dir)) {
    CAPTURE(service.name);
    Environment env = service.base;
    env["BROKER"] = "kafka";
    check_refused(service, env, {"BROKER", "kafka"});
    env["BROKER"] = "redis";
    env["REDIS_URL"] = "http://127.0.0.1:6379";
    check_refused(service, env, {"REDIS_URL", "redis://"});
    env["REDIS_URL"] = "redis://127.0.0.1:99999";
    check_refused(service, env, {"REDIS_URL", "port"});
  }
  Environment env = both_services(dir)[0].base;
  env["STORE"] = "postgres";
  check_refused(both_services(dir)[0], env, {"STORE=postgres"});
}

TEST_CASE("exposure: with ALLOW_OPEN_NETWORK=1 the operator's network address is served") {
  TempDir dir;
  const std::string lan = non_loopback_ipv4();
  for (const Service& service : both_services(dir)) {
    CAPTURE(service.name);
    Environment env = service.base;
    env["BIND_ADDRESS"] = "0.0.0.0";
    env["ALLOW_OPEN_NETWORK"] = "1";
    env["NOTIFY_TOKEN"] = "token-for-the-network";
    ServiceProcess process(service.name, service.binary, env);
    REQUIRE_MESSAGE(process.start(), process.diagnostics());
    CHECK_MESSAGE(process.first_line().find("address=0.0.0.0") != std::string::npos,
                  process.first_line());
    HttpResponse health = HttpClient(process.port()).get("/health");
    CHECK_MESSAGE(health.status == 200, health.describe());
    if (!lan.empty()) CHECK(accepts_tcp(lan, process.port()));
    CHECK(process.stop().clean());
  }
}

TEST_SUITE_END();

}  // namespace relay::itest
