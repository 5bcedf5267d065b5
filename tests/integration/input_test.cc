// Bad input: every refusal with its status and error code, leaving no trace in history or on
// streams; the notify token; raw garbage on the sockets; bad configuration at startup.

#include <atomic>
#include <random>
#include <thread>

#include <doctest/doctest.h>

#include "tests/integration/harness.h"

namespace relay::itest {
namespace {

// One request that must be refused.
struct BadRequest {
  std::string what;
  std::string method;
  std::string path;
  std::string body;
  std::string content_type;
  int status;
  std::string code;
};

HttpResponse send(const HttpClient& http, const BadRequest& request) {
  if (request.method == "GET") return http.get(request.path);
  if (request.method == "DELETE") return http.del(request.path);
  return http.post(request.path, request.body, request.content_type);
}

// CHECKs that `response` is the JSON error `status` / `code`.
void check_error(const HttpResponse& response, const std::string& what, int status,
                 const std::string& code) {
  CAPTURE(what);
  CHECK_MESSAGE(response.status == status, response.describe());
  CHECK_MESSAGE(response.header("Content-Type").find("application/json") == 0,
                response.header("Content-Type"));
  Json body = response.json();
  REQUIRE_MESSAGE(body.is_object(), response.describe());
  if (!code.empty()) CHECK_MESSAGE(body.value("error", "") == code, response.describe());
  CHECK_MESSAGE((body["detail"].is_string() && !body["detail"].get<std::string>().empty()),
                response.describe());
}

std::vector<int64_t> history_ids(const HttpClient& http) {
  HttpResponse response = http.get("/messages?limit=1000");
  REQUIRE_MESSAGE(response.status == 200, response.describe());
  Json body = response.json();
  REQUIRE_MESSAGE(body["messages"].is_array(), response.describe());
  std::vector<int64_t> ids;
  for (const auto& message : body["messages"]) ids.push_back(id_of(message));
  return ids;
}

Json content_of_size(size_t bytes) {
  return {{"content", std::string(bytes, 'x')}};
}

}  // namespace

TEST_SUITE_BEGIN("integration");

TEST_CASE("bad input: message-service refuses each bad request with its code and stores nothing") {
  RelayOptions options;
  options.message_env["MAX_MESSAGE_BYTES"] = "1000";  // body limit: 6 * 1000 + 4096 = 10096
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  SseStream stream(relay.notify_port(), "/events?user=bob");
  REQUIRE(stream.wait_connected());
  int64_t before = id_of(post_message(http, {{"content", "before"}}));

  std::string escaped_content = "{\"content\":\"";
  for (int i = 0; i < 600; ++i) escaped_content += "\\u00e9";  // 1200 bytes once decoded
  escaped_content += "\"}";
  const std::string json = "application/json";
  const std::vector<BadRequest> requests = {
      {"truncated JSON", "POST", "/messages", "{\"content\":", json, 400, "invalid_json"},
      {"not JSON", "POST", "/messages", "hello", json, 400, "invalid_json"},
      {"JSON array", "POST", "/messages", "[1,2]", json, 400, "invalid_json"},
      {"empty body", "POST", "/messages", "", json, 400, "invalid_json"},
      {"no content", "POST", "/messages", R"({"user":"x"})", json, 400, "missing_content"},
      {"numeric content", "POST", "/messages", R"({"content":5})", json, 400, "invalid_content"},
      {"empty content", "POST", "/messages", R"({"content":""})", json, 400, "empty_content"},
      {"invalid UTF-8", "POST", "/messages", "{\"content\":\"\xFF\xFE\"}", json, 400,
       "invalid_utf8"},
      {"overlong UTF-8", "POST", "/messages", "{\"content\":\"\xC0\xAF\"}", json, 400,
       "invalid_utf8"},
      {"surrogate in UTF-8", "POST", "/messages", "{\"content\":\"\xED\xA0\x80\"}", json, 400,
       "invalid_utf8"},
      {"bad channel", "POST", "/messages", R"({"content":"x","channel":"no spaces"})", json, 400,
       "invalid_channel"},
      {"bad user", "POST", "/messages", R"({"content":"x","user":""})", json, 400, "invalid_user"},
      {"bad recipient", "POST", "/messages", R"({"content":"x","to":"a\u0001"})", json, 400,
       "invalid_to"},
      {"content one byte over", "POST", "/messages", content_of_size(1001).dump(), json, 413,
       "content_too_large"},
      {"escaped content over", "POST", "/messages", escaped_content, json, 413,
       "content_too_large"},
      {"200 KB body", "POST", "/messages", content_of_size(200 * 1024).dump(), json, 413,
       "payload_too_large"},
      {"text/plain", "POST", "/messages", R"({"content":"x"})", "text/plain", 415,
       "unsupported_media_type"},
      {"form encoding", "POST", "/messages", "content=x", "application/x-www-form-urlencoded", 415,
       "unsupported_media_type"},
      {"unknown route", "GET", "/no/such/route", "", "", 404, "not_found"},
      {"POST to an unknown route", "POST", "/messages/1/edit", R"({"content":"x"})", json, 404,
       "not_found"},
      {"DELETE /messages", "DELETE", "/messages", "", "", 405, "method_not_allowed"},
  };
  for (const auto& request : requests) {
    HttpResponse response = send(http, request);
    check_error(response, request.what, request.status, request.code);
    if (request.status == 405) {
      CHECK(response.header("Allow").find("POST") != std::string::npos);
      CHECK(response.header("Allow").find("GET") != std::string::npos);
    }
  }

  // Exactly at the limit is fine. Its arrival also proves no refused request was broadcast:
  // events arrive in id order.
  Json at_limit = post_message(http, content_of_size(1000));
  REQUIRE_MESSAGE(stream.wait_message_id(id_of(at_limit)), stream.describe());
  std::vector<int64_t> expected = {before, id_of(at_limit)};
  CHECK(compare_ids(stream.message_ids(), expected) == "");
  CHECK(compare_ids(history_ids(http), expected) == "");
  CHECK(relay.message().running());
}

TEST_CASE("bad input: notify-service refuses bad POST /notify bodies and broadcasts nothing") {
  RelayOptions options;
  options.start_message = false;
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_http();
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());

  Json missing_content = wire_message(1, "x");
  missing_content.erase("content");
  Json bad_id = wire_message(1, "x");
  bad_id["id"] = "one";
  for (const auto& [what, body] : std::vector<std::pair<std::string, std::string>>{
           {"garbage", "garbage \x01\xFF"},
           {"truncated", "{\"id\":"},
           {"a number", "42"},
           {"missing content", missing_content.dump()},
           {"bad id", bad_id.dump()},
           {"a batch with one bad message", Json::array({wire_message(1, "ok"), bad_id}).dump()},
       }) {
    check_error(notify.post("/notify", body, "application/json"), what, 400, "");
  }
  check_error(notify.get("/no/such/route"), "unknown route", 404, "not_found");

  HttpResponse good = notify.post_json("/notify", wire_message(7, "fine"));
  REQUIRE_MESSAGE(good.status / 100 == 2, good.describe());
  REQUIRE_MESSAGE(stream.wait_message_id(7), stream.describe());
  CHECK(compare_ids(stream.message_ids(), {7}) == "");
}

TEST_CASE("bad input: JSON nested millions deep gets 400 from both services, which keep running") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_http();
  HttpClient messages = relay.message_http();
  const size_t depth = 4'000'000;  // 8 MB: under /notify's body limit, deeper than any stack
  const std::string nested = std::string(depth, '[') + std::string(depth, ']');
  check_error(notify.post("/notify", nested, "application/json"), "nested batch", 400, "");
  check_error(notify.post("/notify", "{\"id\":1,\"content\":" + nested + "}", "application/json"),
              "nested content", 400, "invalid_message");
  const std::string shallow = std::string(40'000, '[') + std::string(40'000, ']');
  check_error(messages.post("/messages", "{\"content\":" + shallow + "}", "application/json"),
              "nested content on POST /messages", 400, "invalid_content");
  CHECK(notify.get("/health").status == 200);
  CHECK(messages.get("/health").status == 200);
}

TEST_CASE("bad input: POST /notify requires the bearer token when NOTIFY_TOKEN is set") {
  RelayOptions options;
  options.message_env["NOTIFY_TOKEN"] = "s3cret-token";
  options.notify_env["NOTIFY_TOKEN"] = "s3cret-token";
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_http();
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());

  // The forwarder sends the token: delivery works end to end.
  int64_t forwarded = id_of(post_message(relay.message_http(), {{"content", "via forwarder"}}));
  REQUIRE_MESSAGE(stream.wait_message_id(forwarded), stream.describe());

  const std::string body = wire_message(1000, "injected").dump();
  for (const auto& [what, headers] : std::vector<std::pair<std::string, httplib::Headers>>{
           {"no Authorization", {}},
           {"wrong token", {{"Authorization", "Bearer wrong"}}},
           {"token prefix", {{"Authorization", "Bearer s3cret"}}},
           {"token without Bearer", {{"Authorization", "s3cret-token"}}},
           {"Basic scheme", {{"Authorization", "Basic czNjcmV0LXRva2Vu"}}},
       }) {
    check_error(notify.post("/notify", body, "application/json", headers), what, 401, "");
  }
  HttpResponse allowed =
      notify.post("/notify", body, "application/json", {{"Authorization", "Bearer s3cret-token"}});
  CHECK_MESSAGE(allowed.status / 100 == 2, allowed.describe());
  CHECK_MESSAGE(stream.wait_message_id(1000), stream.describe());
  CHECK(compare_ids(stream.message_ids(), {forwarded, 1000}) == "");
}

TEST_CASE("bad input: POST /notify is not for browsers and takes only JSON") {
  RelayOptions options;
  options.start_message = false;
  options.notify_env["NOTIFY_TOKEN"] = "s3cret-token";
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_http();
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());
  const httplib::Headers bearer = {{"Authorization", "Bearer s3cret-token"}};

  const std::string body = wire_message(1, "from a page").dump();
  for (const char* origin : {"http://evil.example", "null", "http://127.0.0.1:8080"}) {
    CAPTURE(origin);
    httplib::Headers headers = bearer;
    headers.emplace("Origin", origin);
    HttpResponse refused = notify.post("/notify", body, "application/json", headers);
    check_error(refused, origin, 403, "forbidden");
    CHECK(refused.json()["detail"] == "POST /notify is not for browsers");
  }
  // A form or text/plain POST is what a page can send without a preflight.
  for (const char* type :
       {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data"}) {
    check_error(notify.post("/notify", body, type, bearer), type, 415, "unsupported_media_type");
  }
  // The Origin refusal comes before the credential check: no token needed to be told no.
  check_error(notify.post("/notify", body, "text/plain", {{"Origin", "http://evil.example"}}),
              "Origin without a token", 403, "forbidden");

  HttpResponse good = notify.post("/notify", wire_message(2, "fine").dump(),
                                  "application/json; charset=utf-8", bearer);
  REQUIRE_MESSAGE(good.status == 200, good.describe());
  REQUIRE_MESSAGE(stream.wait_message_id(2), stream.describe());
  CHECK(compare_ids(stream.message_ids(), {2}) == "");
}

TEST_CASE("bad input: ids far beyond the store's newest are refused and delivery goes on") {
  // A stand-in for message-service's GET /log that says the store's newest id (or fails).
  std::atomic<int64_t> store_last_id{30};
  std::atomic<bool> say_last_id{true};
  httplib::Server fake_store;
  fake_store.Get("/log", [&](const httplib::Request&, httplib::Response& res) {
    Json answer = {{"events", Json::array()}};
    if (say_last_id) answer["last_id"] = std::to_string(store_last_id.load());
    res.set_content(answer.dump(), "application/json");
  });
  int store_port = fake_store.bind_to_any_port("127.0.0.1");
  REQUIRE(store_port > 0);
  std::thread store_thread([&] { fake_store.listen_after_bind(); });
  struct StopStore {
    httplib::Server& server;
    std::thread& thread;
    ~StopStore() {
      server.stop();
      if (thread.joinable()) thread.join();
    }
  } stop_store{fake_store, store_thread};

  RelayOptions options;
  options.start_message = false;
  options.notify_env["MESSAGE_SERVICE_URL"] = "http://127.0.0.1:" + std::to_string(store_port);
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient notify = relay.notify_http();
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());

  Json first = Json::array();
  for (int id = 1; id <= 20; ++id) first.push_back(wire_message(id, "n" + std::to_string(id)));
  REQUIRE(notify.post_json("/notify", first).status == 200);

  Json huge = wire_message(1, "poison");
  huge["id"] = "9223372036854775807";
  check_error(notify.post_json("/notify", huge), "INT64_MAX", 400, "invalid_message");
  for (const auto& [what, batch] : std::vector<std::pair<std::string, Json>>{
           {"far above the store", wire_message(500000, "poison")},
           {"2^53 - 1", wire_message(9007199254740991, "poison")},
           {"a real id with a poisoned one",
            Json::array({wire_message(21, "hidden"), wire_message(1000000, "poison")})},
       }) {
    HttpResponse refused = notify.post_json("/notify", batch);
    check_error(refused, what, 400, "implausible_id");
  }
  CHECK(metric_value(notify.get("/metrics").body, "relay_notify_implausible_ids_total") == 3.0);

  // The store cannot be asked: 503, so the forwarder would retry; still nothing published.
  say_last_id = false;
  HttpResponse unverified = notify.post_json("/notify", wire_message(400000, "unverified"));
  check_error(unverified, "no last_id", 503, "store_unreachable");
  say_last_id = true;

  // The hub was not poisoned: the next real ids are delivered.
  Json next = Json::array();
  for (int id = 21; id <= 25; ++id) next.push_back(wire_message(id, "n" + std::to_string(id)));
  HttpResponse accepted = notify.post_json("/notify", next);
  REQUIRE_MESSAGE(accepted.status == 200, accepted.describe());
  CHECK(accepted.json()["accepted"] == 5);
  // An id far ahead that the store does hold is taken (a hub that lagged behind the store).
  store_last_id = 300000;
  HttpResponse ahead = notify.post_json("/notify", wire_message(300000, "real and far"));
  REQUIRE_MESSAGE(ahead.status == 200, ahead.describe());
  REQUIRE_MESSAGE(stream.wait_message_id(300000), stream.describe());
  std::vector<int64_t> expected;
  for (int64_t id = 1; id <= 25; ++id) expected.push_back(id);
  expected.push_back(300000);
  CHECK(compare_ids(stream.message_ids(), expected) == "");
  CHECK(relay.notify().running());
}

TEST_CASE("bad input: user names with C1 or bidi controls get 400 invalid_user and store nothing") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());

  struct Name {
    std::string text;
    std::string query;  // percent-encoded for ?user=
  };
  const std::vector<Name> names = {
      {"a\u0085b", "a%C2%85b"},
      {"\u009b31m", "%C2%9B31m"},
      {"\u202eevil", "%E2%80%AEevil"},
      {"zero\u200bwidth", "zero%E2%80%8Bwidth"},
  };
  for (const auto& name : names) {
    CAPTURE(name.query);
    const std::string user = "\"" + name.text + "\"";  // a JSON string with the escape
    check_error(
        http.post("/messages", "{\"content\":\"x\",\"user\":" + user + "}", "application/json"),
        "POST /messages user", 400, "invalid_user");
    check_error(
        http.post("/messages", "{\"content\":\"x\",\"to\":" + user + "}", "application/json"),
        "POST /messages to", 400, "invalid_to");
    check_error(http.post("/typing", "{\"user\":" + user + "}", "application/json"), "POST /typing",
                400, "invalid_user");
    SseStream refused(relay.notify_port(), "/events?user=" + name.query);
    CHECK_FALSE(refused.wait_connected());
    CHECK_MESSAGE(refused.status() == 400, refused.describe());
    CHECK(Json::parse(refused.body(), nullptr, false).value("error", "") == "invalid_user");
    check_error(http.get("/messages?user=" + name.query), "GET /messages", 400, "invalid_user");
  }
  CHECK(history_ids(http).empty());
  // A marker: the refusals reached neither the store nor the stream.
  int64_t marker = id_of(post_message(http, {{"content", "marker"}, {"user", "ok"}}));
  REQUIRE_MESSAGE(stream.wait_message_id(marker), stream.describe());
  CHECK(compare_ids(stream.message_ids(), {marker}) == "");
  CHECK(compare_ids(history_ids(http), {marker}) == "");
}

TEST_CASE("bad input: an Origin that is not a serialized origin is never echoed") {
  Relay relay;
  INFO(relay.diagnostics());
  for (int port : {relay.message_port(), relay.notify_port()}) {
    CAPTURE(port);
    for (const std::string& origin : {std::string("http://a\nSet-Cookie: x=1"), std::string("null"),
                                      std::string("http://a/path"), std::string("http://a b")}) {
      CAPTURE(origin);
      RawSocket socket(port);
      REQUIRE(socket.connected());
      REQUIRE(socket.send_all("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: " + origin +
                              "\r\nConnection: close\r\n\r\n"));
      std::string answer = socket.read_some(5s);
      // Either refused by the parser or answered as if no Origin was sent; never echoed.
      CHECK_MESSAGE(answer.rfind("HTTP/1.1 ", 0) == 0, answer);
      std::string head = answer.substr(0, answer.find("\r\n\r\n"));
      CHECK_MESSAGE(head.find("Set-Cookie") == std::string::npos, head);
      CHECK_MESSAGE(head.find(origin) == std::string::npos, head);
      if (answer.rfind("HTTP/1.1 200", 0) == 0) {
        CHECK_MESSAGE(head.find("Access-Control-Allow-Origin: *\r\n") != std::string::npos, head);
      }
    }
    RawSocket socket(port);
    REQUIRE(
        socket.send_all("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nOrigin: "
                        "http://chat.example:8080\r\nConnection: close\r\n\r\n"));
    std::string answer = socket.read_some(5s);
    CHECK_MESSAGE(answer.find("Access-Control-Allow-Origin: http://chat.example:8080\r\n") !=
                      std::string::npos,
                  answer);
  }
  CHECK(relay.message().running());
  CHECK(relay.notify().running());
}

TEST_CASE("bad input: raw garbage on a TCP connection does not crash either service") {
  Relay relay;
  INFO(relay.diagnostics());
  std::mt19937 random(20261123);
  std::string binary(4096, '\0');
  for (char& c : binary) c = static_cast<char>(random() & 0xFF);
  const std::vector<std::string> payloads = {
      binary,
      std::string(1024, '\0'),
      "\r\n\r\n\r\n\r\n",
      "GET / HTTP/1.1\r\nX-Long: " + std::string(100 * 1024, 'a') + "\r\n\r\n",
      "GET /" + std::string(64 * 1024, 'p') + " HTTP/1.1\r\n\r\n",
      "GET /health HTTP/9.9\r\n\r\n",
      "BREW /coffee HTCPCP/1.0\r\n\r\n",
      "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "-5\r\n\r\n",
      "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "99999999999999999999\r\n\r\n{}",
      "POST /messages HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: "
      "chunked\r\n\r\nzz\r\nbad\r\n",
      "POST /notify HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "100\r\n\r\n{\"con",
      "GET /events?channels=%ZZ&user=%00 HTTP/1.1\r\nHost: x\r\nLast-Event-ID: \xFF\xFE\r\n\r\n",
      "GET /events HTTP/1.1\r\nHost: x\r\nLast-Event-ID: -1\r\n\r\n",
      "GET /events?last_event_id=99999999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n",
  };
  for (int port : {relay.message_port(), relay.notify_port()}) {
    for (const auto& payload : payloads) {
      RawSocket socket(port);
      REQUIRE(socket.connected());
      socket.send_all(payload);  // may fail when the server hangs up first; that is fine
      socket.read_some(300ms, 64 * 1024);
    }
  }
  // Connections opened and dropped without a byte.
  for (int i = 0; i < 10; ++i) {
    RawSocket quiet_message(relay.message_port());
    RawSocket quiet_notify(relay.notify_port());
  }
  CHECK(relay.message().running());
  CHECK(relay.notify().running());
  HttpResponse message_health = relay.message_http(5s).get("/health");
  HttpResponse notify_health = relay.notify_http(5s).get("/health");
  CHECK_MESSAGE(message_health.status == 200, message_health.describe());
  CHECK_MESSAGE(notify_health.status == 200, notify_health.describe());

  // And they still relay.
  SseStream stream(relay.notify_port(), "/events");
  REQUIRE(stream.wait_connected());
  int64_t id = id_of(post_message(relay.message_http(), {{"content", "still alive"}}));
  CHECK_MESSAGE(stream.wait_message_id(id), stream.describe());
}

TEST_CASE("config: a bad setting prints one line on stderr and exits with code 2") {
  TempDir dir;
  const std::string closed = "http://127.0.0.1:" + std::to_string(reserve_free_port());
  const Environment message_base = {{"PORT", "0"},
                                    {"BIND_ADDRESS", "127.0.0.1"},
                                    {"DATA_DIR", dir.subdir("data")},
                                    {"NOTIFICATION_SERVICE_URL", closed}};
  const Environment notify_base = {
      {"PORT", "0"}, {"BIND_ADDRESS", "127.0.0.1"}, {"MESSAGE_SERVICE_URL", closed}};
  struct Case {
    std::string service;
    std::string variable;
    std::string value;
  };
  const std::vector<Case> cases = {
      {"message", "PORT", "abc"},
      {"message", "PORT", "70000"},
      {"message", "NOTIFICATION_SERVICE_URL", "not a url"},
      {"message", "MAX_MESSAGE_BYTES", "lots"},
      {"notify", "PORT", "abc"},
      {"notify", "MESSAGE_SERVICE_URL", "ftp://127.0.0.1:1"},
      {"notify", "HEARTBEAT_SECONDS", "-1"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.service);
    CAPTURE(c.variable);
    CAPTURE(c.value);
    bool is_message = c.service == "message";
    Environment env = is_message ? message_base : notify_base;
    env[c.variable] = c.value;
    ServiceProcess process(c.service + "-service",
                           is_message ? message_service_binary() : notify_service_binary(), env);
    REQUIRE_MESSAGE(process.spawn(), process.diagnostics());
    std::optional<ExitStatus> status = process.wait_exit(20s);
    REQUIRE_MESSAGE(status.has_value(), "still running: " << process.diagnostics());
    CHECK_MESSAGE((status->exited && status->code == 2), process.diagnostics());
    std::string error = process.stderr_text();
    CHECK_MESSAGE(std::count(error.begin(), error.end(), '\n') == 1, "stderr: " << error);
    CHECK_MESSAGE((!error.empty() && error.back() == '\n'), "stderr: " << error);
    CHECK_MESSAGE(error.find(c.variable) != std::string::npos, "stderr: " << error);
    CHECK_MESSAGE(process.first_line().find("msg=listening") == std::string::npos,
                  process.diagnostics());
  }
}

TEST_SUITE_END();

}  // namespace relay::itest
