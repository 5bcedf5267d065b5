// MAX_STREAMS_PER_USER over several notify-service instances on one Redis (BROKER=redis, accounts
// mode, one message-service on SQLite): a user's streams count wherever they are open, a closed
// one gives its place back on any instance, and the streams of an instance killed with -9 stop
// counting once its Redis hash expired.

#include <doctest/doctest.h>

#include "tests/integration/accounts_support.h"
#include "tests/integration/bus_support.h"

namespace relay::itest {

TEST_SUITE_BEGIN("cluster");

TEST_CASE(
    "cluster: MAX_STREAMS_PER_USER holds over every notify-service instance, and an instance "
    "killed with -9 stops counting after its TTL") {
  Bus bus;
  Relay relay(bus.options(accounts_options({}, {{"MAX_STREAMS_PER_USER", "2"}})));
  auto second = start_instance(relay, "notify-service-2");
  auto third = start_instance(relay, "notify-service-3");
  for (int port : {relay.notify_port(), second->port(), third->port()}) wait_ready(port, true);
  INFO(relay.diagnostics() << second->diagnostics() << third->diagnostics());
  auto http = relay.message_http();
  Account alice = register_account(http, "alice");
  Account bob = register_account(http, "bob");
  auto ticket = [&] {
    auto issued = http.post("/auth/stream-ticket", "", "application/json", bearer(alice.token));
    REQUIRE_MESSAGE(issued.status == 201, issued.describe());
    return issued.json().value("ticket", "");
  };

  // One of alice's streams on the first instance, one on the second (with a stream ticket, as the
  // chat page opens them).
  auto on_first = std::make_unique<SseStream>(relay.notify_port(), "/events", bearer(alice.token));
  REQUIRE_MESSAGE(on_first->wait_connected(), on_first->describe());
  SseStream on_second(second->port(), "/events?ticket=" + ticket());
  REQUIRE_MESSAGE(on_second.wait_connected(), on_second.describe());

  // The third instance holds none of hers, and still refuses a third.
  HttpClient third_http(third->port());
  auto refused = third_http.get("/events?ticket=" + ticket());
  CHECK_MESSAGE(refused.status == 429, refused.describe());
  CHECK(refused.json()["error"] == "too_many_streams");
  CHECK(refused.header("Retry-After") == "5");
  CHECK(third_http.get("/events", bearer(alice.token)).status == 429);
  CHECK(metric_value(third_http.get("/metrics").body, "relay_streams_limited_total").value_or(0) ==
        2);
  SseStream bobs(third->port(), "/events", bearer(bob.token));  // bob's own budget
  CHECK_MESSAGE(bobs.wait_connected(), bobs.describe());

  // A stream closed on the first instance gives its place back on the third.
  on_first->stop();
  on_first.reset();
  std::unique_ptr<SseStream> on_third;
  CHECK(eventually([&] {
    on_third = std::make_unique<SseStream>(third->port(), "/events", bearer(alice.token));
    return on_third->wait_connected(2s);
  }));
  CHECK(relay.notify_http().get("/events", bearer(alice.token)).status == 429);

  // Killed with -9, the second instance cannot give back its stream: it counts until its hash
  // expires (5 s after its last heartbeat), then the first instance grants one again.
  second->kill9();
  CHECK(on_second.wait_ended());
  CHECK(relay.notify_http().get("/events", bearer(alice.token)).status == 429);
  std::unique_ptr<SseStream> after_kill;
  CHECK(eventually([&] {
    after_kill = std::make_unique<SseStream>(relay.notify_port(), "/events", bearer(alice.token));
    return after_kill->wait_connected(2s);
  }));
  CHECK(third_http.get("/events", bearer(alice.token)).status == 429);
}

TEST_SUITE_END();

}  // namespace relay::itest
