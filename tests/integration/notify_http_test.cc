// notify-service's own HTTP server (the epoll event loop) seen from the wire: pipelining,
// Expect: 100-continue, refusals that must arrive as JSON instead of a reset, HTTP/1.0 streams,
// CORS preflights and 405s, keep-alive timeouts against long-lived streams, and slots freed when a
// stream's reader leaves. Raw sockets where the exact bytes matter.

#include <cstdio>
#include <cstring>

#include <doctest/doctest.h>

#include "tests/integration/harness.h"

namespace relay::itest {
namespace {

// notify-service alone (history unreachable), with `env` over the harness defaults.
RelayOptions notify_only(Environment env = {}) {
  RelayOptions options;
  options.start_message = false;
  options.notify_env = std::move(env);
  return options;
}

std::string post_notify_request(const std::string& body, const std::string& extra_headers = "") {
  return "POST /notify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}

// CHECKs that `response` is the JSON error `status` / `code`.
void check_json_error(const std::optional<RawResponse>& response, int status,
                      const std::string& code) {
  REQUIRE(response.has_value());
  CHECK_MESSAGE(response->status == status, response->describe());
  CHECK(response->header("Content-Type") == "application/json");
  Json body = Json::parse(response->body, nullptr, false);
  REQUIRE_MESSAGE(body.is_object(), response->describe());
  CHECK(body.value("error", "") == code);
  CHECK_FALSE(body.value("detail", "").empty());
}

int health_subscribers(const HttpClient& http) {
  HttpResponse health = http.get("/health");
  if (health.status != 200) return -1;
  return health.json().value("subscribers", -1);
}

}  // namespace

TEST_SUITE_BEGIN("integration");

TEST_CASE("notify http: pipelined requests on one connection are answered in order") {
  Relay relay(notify_only());
  INFO(relay.diagnostics());
  RawSocket wire(relay.notify_port());
  REQUIRE(wire.connected());
  // Sent in one write: the server must answer each in turn and keep the connection.
  std::string requests;
  for (const char* path : {"/health", "/metrics", "/no-such-route", "/health"}) {
    requests += std::string("GET ") + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  }
  requests += post_notify_request(wire_message(5, "pipelined").dump());
  requests += "GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n";
  REQUIRE(wire.send_all(requests));

  auto health = wire.read_response();
  REQUIRE(health.has_value());
  CHECK(health->status == 200);
  CHECK(Json::parse(health->body, nullptr, false).value("service", "") == "notify-service");
  CHECK(health->header("Connection") == "keep-alive");
  auto metrics = wire.read_response();
  REQUIRE(metrics.has_value());
  CHECK(metrics->status == 200);
  CHECK(metrics->header("Content-Type").find("text/plain") == 0);
  CHECK(metrics->body.find("relay_subscribers") != std::string::npos);
  check_json_error(wire.read_response(), 404, "not_found");
  auto second_health = wire.read_response();
  REQUIRE(second_health.has_value());
  CHECK(Json::parse(second_health->body, nullptr, false).value("last_event_id", "") == "0");
  auto notified = wire.read_response();
  REQUIRE(notified.has_value());
  CHECK_MESSAGE(notified->status == 200, notified->describe());
  CHECK(Json::parse(notified->body, nullptr, false).value("accepted", -1) == 1);
  // The last answer saw the POST before it: order kept.
  auto last_health = wire.read_response();
  REQUIRE(last_health.has_value());
  CHECK(Json::parse(last_health->body, nullptr, false).value("last_event_id", "") == "5");
  CHECK(wire.buffer().empty());
}

TEST_CASE("notify http: Expect: 100-continue gets 100 Continue, then the answer") {
  Relay relay(notify_only());
  INFO(relay.diagnostics());
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());
  RawSocket wire(relay.notify_port());
  REQUIRE(wire.connected());
  std::string body = wire_message(3, "after continue").dump();
  std::string request = post_notify_request(body, "Expect: 100-continue\r\n");
  REQUIRE(wire.send_all(request.substr(0, request.size() - body.size())));
  // The interim answer comes before any of the body is sent, and nothing else with it.
  REQUIRE_MESSAGE(wire.read_until("\r\n\r\n", 10s), wire.buffer());
  CHECK(wire.buffer() == "HTTP/1.1 100 Continue\r\n\r\n");
  wire.buffer().clear();
  REQUIRE(wire.send_all(body));
  auto response = wire.read_response();
  REQUIRE(response.has_value());
  CHECK_MESSAGE(response->status == 200, response->describe());
  CHECK(Json::parse(response->body, nullptr, false).value("accepted", -1) == 1);
  CHECK_MESSAGE(stream.wait_message_id(3), stream.describe());

  // The same connection takes another such request.
  std::string next_body = wire_message(4, "again").dump();
  std::string next = post_notify_request(next_body, "Expect: 100-continue\r\n");
  REQUIRE(wire.send_all(next.substr(0, next.size() - next_body.size())));
  REQUIRE(wire.read_until("\r\n\r\n", 10s));
  CHECK(wire.buffer() == "HTTP/1.1 100 Continue\r\n\r\n");
  wire.buffer().clear();
  REQUIRE(wire.send_all(next_body));
  auto second = wire.read_response();
  REQUIRE(second.has_value());
  CHECK_MESSAGE(second->status == 200, second->describe());
  CHECK_MESSAGE(stream.wait_message_id(4), stream.describe());
  CHECK(compare_ids(stream.message_ids(), {3, 4}) == "");
}

TEST_CASE("notify http: chunked bodies get 411 and huge heads 431, as JSON, and service goes on") {
  Relay relay(notify_only());
  INFO(relay.diagnostics());
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());
  {
    RawSocket wire(relay.notify_port());
    REQUIRE(wire.connected());
    std::string chunk = wire_message(1, "chunked").dump();
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", chunk.size());
    REQUIRE(wire.send_all(
        "POST /notify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n" +
        std::string(size) + "\r\n" + chunk + "\r\n0\r\n\r\n"));
    auto response = wire.read_response();
    check_json_error(response, 411, "length_required");
    CHECK(response->header("Connection") == "close");
    CHECK(wire.wait_end(10s) == ConnectionEnd::kEof);
  }
  {
    RawSocket wire(relay.notify_port());
    REQUIRE(wire.connected());
    REQUIRE(wire.send_all("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Huge: " +
                          std::string(100 * 1024, 'h') + "\r\n\r\n"));
    auto response = wire.read_response();
    check_json_error(response, 431, "headers_too_large");
    CHECK(wire.wait_end(10s) == ConnectionEnd::kEof);
  }
  {
    // A head that never ends is refused too, without waiting for its end.
    RawSocket wire(relay.notify_port());
    REQUIRE(wire.connected());
    REQUIRE(wire.send_all("GET /health HTTP/1.1\r\nX-Endless: " + std::string(40 * 1024, 'e')));
    check_json_error(wire.read_response(), 431, "headers_too_large");
  }
  CHECK(relay.notify().running());
  CHECK(health_subscribers(relay.notify_http()) == 1);
  HttpResponse posted = relay.notify_http().post_json("/notify", wire_message(2, "fine"));
  CHECK_MESSAGE(posted.status == 200, posted.describe());
  // Nothing of the refused body was published: the stream sees only the good message.
  REQUIRE_MESSAGE(stream.wait_message_id(2), stream.describe());
  CHECK(compare_ids(stream.message_ids(), {2}) == "");
}

TEST_CASE("notify http: an HTTP/1.0 stream is close-delimited, not chunked, and carries events") {
  Relay relay(notify_only());
  INFO(relay.diagnostics());
  RawSocket wire(relay.notify_port());
  REQUIRE(wire.connected());
  REQUIRE(wire.send_all("GET /events?channels=general HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n"));
  REQUIRE_MESSAGE(wire.read_until("event: connected\n", 10s), wire.buffer());
  size_t head_end = wire.buffer().find("\r\n\r\n");
  REQUIRE(head_end != std::string::npos);
  std::string head = wire.buffer().substr(0, head_end + 4);
  CHECK(head.rfind("HTTP/1.1 200 ", 0) == 0);
  CHECK(head.find("Content-Type: text/event-stream\r\n") != std::string::npos);
  CHECK(head.find("Transfer-Encoding") == std::string::npos);
  CHECK(head.find("Content-Length") == std::string::npos);
  CHECK(head.find("Connection: close\r\n") != std::string::npos);

  REQUIRE(relay.notify_http().post_json("/notify", wire_message(9, "to 1.0")).status == 200);
  REQUIRE_MESSAGE(wire.read_until("id: 9\n", 10s), wire.buffer());
  // The body is plain SSE: it parses as it came, with no chunk-size lines in between.
  std::vector<SseEvent> events;
  SseParser parser([&](const SseEvent& event) { events.push_back(event); });
  parser.feed(std::string_view(wire.buffer()).substr(head_end + 4));
  REQUIRE(events.size() == 2);
  CHECK(events[0].event == "connected");
  CHECK(events[1].event == "message");
  CHECK(events[1].id == "9");
  CHECK(Json::parse(events[1].data, nullptr, false).value("content", "") == "to 1.0");

  // The end of such a stream is the end of the connection.
  relay.notify().terminate();
  CHECK(wire.wait_end(10s) == ConnectionEnd::kEof);
  auto status = relay.notify().wait_exit(10s);
  REQUIRE(status.has_value());
  CHECK(status->clean());
}

TEST_CASE("notify http: OPTIONS preflights are answered and wrong methods get 405 with Allow") {
  Relay relay(notify_only());
  INFO(relay.diagnostics());
  RawSocket wire(relay.notify_port());
  REQUIRE(wire.connected());
  REQUIRE(wire.send_all(
      "OPTIONS /events HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: http://chat.example\r\n"
      "Access-Control-Request-Method: GET\r\nAccess-Control-Request-Headers: last-event-id\r\n"
      "\r\n"));
  auto preflight = wire.read_response();
  REQUIRE(preflight.has_value());
  CHECK_MESSAGE(preflight->status == 204, preflight->describe());
  CHECK(preflight->body.empty());
  CHECK(preflight->header("Access-Control-Allow-Origin") == "http://chat.example");
  CHECK(preflight->header("Access-Control-Allow-Methods") == "GET, HEAD, OPTIONS");
  CHECK(preflight->header("Access-Control-Allow-Headers").find("Last-Event-ID") !=
        std::string::npos);
  CHECK(preflight->header("Connection") == "keep-alive");

  // On the same connection: the wrong method on a known path.
  REQUIRE(wire.send_all("DELETE /notify HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto refused = wire.read_response();
  check_json_error(refused, 405, "method_not_allowed");
  CHECK(refused->header("Allow") == "POST, OPTIONS");
  // /notify is not for browsers: no CORS headers on its answers, and no preflight.
  CHECK_FALSE(refused->has_header("Access-Control-Allow-Origin"));

  // And through a normal client.
  HttpResponse notify_preflight = relay.notify_http().options("/notify");
  CHECK(notify_preflight.status == 403);
  CHECK_FALSE(notify_preflight.has_header("Access-Control-Allow-Methods"));
  HttpResponse get_notify = relay.notify_http().get("/notify");
  CHECK(get_notify.status == 405);
  CHECK(get_notify.header("Allow") == "POST, OPTIONS");
  HttpResponse unknown = relay.notify_http().options("/nowhere");
  CHECK(unknown.status == 404);
}

TEST_CASE(
    "notify http: idle keep-alive connections close after KEEP_ALIVE_SECONDS, streams "
    "stay open") {
  Relay relay(notify_only({{"KEEP_ALIVE_SECONDS", "1"}, {"HEARTBEAT_SECONDS", "1"}}));
  INFO(relay.diagnostics());
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());

  RawSocket answered(relay.notify_port());  // idle after one answer
  RawSocket silent(relay.notify_port());    // never sends a byte
  REQUIRE(answered.connected());
  REQUIRE(silent.connected());
  REQUIRE(answered.send_all("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  auto health = answered.read_response();
  REQUIRE(health.has_value());
  CHECK(health->status == 200);
  CHECK(health->header("Connection") == "keep-alive");
  auto idle_since = Clock::now();

  CHECK(answered.wait_end(10s) == ConnectionEnd::kEof);
  auto idle_for = Clock::now() - idle_since;
  CHECK(silent.wait_end(10s) == ConnectionEnd::kEof);
  CHECK(idle_for >= 900ms);  // not before the timeout (the server checks it every 250 ms)
  CHECK(idle_for < 5s);

  // The stream, open longer than that, still gets heartbeats and events.
  size_t pings = stream.comment_count();
  CHECK_MESSAGE(stream.wait_until([&] { return stream.comment_count() >= pings + 2; }, 10s),
                stream.describe());
  CHECK_FALSE(stream.ended());
  REQUIRE(relay.notify_http().post_json("/notify", wire_message(1, "still here")).status == 200);
  CHECK_MESSAGE(stream.wait_message_id(1, 10s), stream.describe());
  CHECK(health_subscribers(relay.notify_http()) == 1);
}

TEST_CASE("notify http: a 200 KiB body over MAX_NOTIFY_BODY_BYTES gets its 413, not a reset") {
  Relay relay(notify_only({{"MAX_NOTIFY_BODY_BYTES", "1024"}}));
  INFO(relay.diagnostics());
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());
  Json batch = Json::array();
  for (int64_t id = 1; batch.dump().size() < 200 * 1024; ++id) {
    batch.push_back(wire_message(id, std::string(1000, 'x')));
  }
  RawSocket wire(relay.notify_port());
  REQUIRE(wire.connected());
  // The whole request goes out before the client reads (as a simple client does); the server
  // answers after the head and must read the rest so its answer is not lost to a reset.
  bool sent = wire.send_all(post_notify_request(batch.dump()));
  CHECK_MESSAGE(sent, "send failed: " << std::strerror(wire.send_error()));
  auto response = wire.read_response();
  check_json_error(response, 413, "payload_too_large");
  CHECK(response->header("Connection") == "close");
  CHECK(wire.wait_end(10s) == ConnectionEnd::kEof);

  CHECK(relay.notify().running());
  HttpResponse small = relay.notify_http().post_json("/notify", wire_message(500, "small"));
  CHECK_MESSAGE(small.status == 200, small.describe());
  REQUIRE_MESSAGE(stream.wait_message_id(500), stream.describe());
  CHECK(compare_ids(stream.message_ids(), {500}) == "");
}

TEST_CASE("notify http: a stream whose reader closes frees its slot at once") {
  Relay relay(notify_only({{"HEARTBEAT_SECONDS", "3600"}}));
  INFO(relay.diagnostics());
  HttpClient http = relay.notify_http();
  std::vector<std::unique_ptr<SseStream>> streams;
  for (int i = 0; i < 3; ++i) {
    streams.push_back(std::make_unique<SseStream>(relay.notify_port(), "/events"));
    REQUIRE(streams.back()->wait_connected());
  }
  CHECK(health_subscribers(http) == 3);
  // No heartbeat is due for an hour and nothing is published: only the close itself can tell the
  // server, and it must act on it promptly.
  streams[1]->stop();
  auto closed_at = Clock::now();
  CHECK(eventually([&] { return health_subscribers(http) == 2; }, 10s));
  CHECK(Clock::now() - closed_at < 2s);
  RawSocket raw(relay.notify_port());
  REQUIRE(raw.send_all("GET /events HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
  REQUIRE(raw.read_until("event: connected", 10s));
  CHECK(eventually([&] { return health_subscribers(http) == 3; }, 10s));
  raw.close();
  closed_at = Clock::now();
  CHECK(eventually([&] { return health_subscribers(http) == 2; }, 10s));
  CHECK(Clock::now() - closed_at < 2s);
}

TEST_SUITE_END();

}  // namespace relay::itest
