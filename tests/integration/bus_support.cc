#include "tests/integration/bus_support.h"

#include <doctest/doctest.h>

namespace relay::itest {

Bus::Bus() {
  REQUIRE_MESSAGE(redis.start(), redis.diagnostics());
}

RelayOptions Bus::options(RelayOptions base) const {
  for (auto* env : {&base.message_env, &base.notify_env}) {
    (*env)["BROKER"] = "redis";
    (*env)["REDIS_URL"] = redis.url();
  }
  return base;
}

std::unique_ptr<ServiceProcess> start_instance(Relay& relay, const std::string& name) {
  auto instance =
      std::make_unique<ServiceProcess>(name, notify_service_binary(), relay.notify().env());
  instance->env()["PORT"] = "0";
  REQUIRE_MESSAGE(instance->start(), instance->diagnostics());
  return instance;
}

void wait_ready(int port, bool accounts) {
  HttpClient health(port);
  bool ready = eventually([&] {
    HttpResponse answer = health.get("/health");
    Json body = answer.json();
    return answer.status == 200 && body.value("redis_connected", false) &&
           (!accounts || body.value("private_channels", "") == "loaded");
  });
  REQUIRE_MESSAGE(ready, health.get("/health").describe());
}

std::string resume_of(const SseStream& stream) {
  for (const auto& event : stream.events()) {
    if (event.event == "connected") {
      return Json::parse(event.data, nullptr, false).value("resume", "");
    }
  }
  return "";
}

std::vector<int64_t> stream_ids(RedisServer& redis) {
  std::vector<int64_t> ids;
  auto reply = redis.command({"XRANGE", "relay:events", "-", "+"});
  REQUIRE(reply.has_value());
  for (const auto& entry : reply->elements) {
    const std::string& id = entry.elements.at(0).text;
    ids.push_back(std::stoll(id.substr(0, id.find('-'))));
  }
  return ids;
}

std::vector<int64_t> post_many(const HttpClient& http, const std::string& prefix, int count) {
  std::vector<int64_t> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(id_of(post_message(http, {{"content", prefix + std::to_string(i)}})));
  }
  return ids;
}

std::vector<int64_t> with(std::vector<int64_t> ids, int64_t marker) {
  ids.push_back(marker);
  return ids;
}

}  // namespace relay::itest
