// In-process tests of the shared HTTP server (shared/http/http_server.h) with routes of its own:
// answers given later from other threads, blocking routes on the pool, head checks before the
// body, pipelining in order, streams pulled on the pool and then on the loop. The ThreadSanitizer
// suite runs these (label unit). Every wait has a deadline.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "shared/http/http_server.h"
#include "tests/support/raw_socket.h"

namespace relay {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
constexpr auto kDeadline = 10s;

// A client of the test server over the tests' one raw socket (tests/support/raw_socket.h), with
// the two reads these tests need: until some text arrived `count` times, and until the peer closed.
class Client {
 public:
  explicit Client(int port) : socket_(port) { REQUIRE(socket_.connected()); }

  void send(std::string_view bytes) { REQUIRE(socket_.send_all(bytes)); }
  /// Reads until `count` occurrences of `needle` arrived, or the peer closed, or the deadline.
  const std::string& read_until(std::string_view needle, size_t count = 1) {
    auto deadline = Clock::now() + kDeadline;
    while (occurrences(needle) < count && !socket_.ended() && Clock::now() < deadline) {
      socket_.receive(50ms);
    }
    return received();
  }
  /// Reads until the peer closes; true when it did before the deadline.
  bool read_to_eof() { return socket_.wait_end(kDeadline) != testing::ConnectionEnd::kTimeout; }
  size_t occurrences(std::string_view needle) {
    size_t count = 0;
    for (size_t at = received().find(needle); at != std::string::npos;
         at = received().find(needle, at + needle.size())) {
      ++count;
    }
    return count;
  }
  const std::string& received() { return socket_.buffer(); }

 private:
  testing::RawSocket socket_;
};

// A latch a test opens; also opened on destruction so no worker is left waiting.
class Gate {
 public:
  ~Gate() { open(); }
  void open() {
    {
      std::lock_guard lock(mutex_);
      open_ = true;
    }
    changed_.notify_all();
  }
  bool wait() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [this] { return open_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
};

// A stream that first gives two pages "on the pool" (blocking), then live lines the test adds.
class TestSource : public StreamSource {
 public:
  std::optional<std::string> pull() override {
    if (pages_left_ > 0) {
      pulled_on_pool_ = true;
      return "page " + std::to_string(pages_left_--) + "\n";
    }
    std::lock_guard lock(mutex_);
    if (ended_) return std::nullopt;
    std::string out;
    out.swap(pending_);
    return out;
  }
  bool blocking() const override { return pages_left_ > 0; }
  void closed() override { closed_ = true; }
  void add(const std::string& line) {
    std::lock_guard lock(mutex_);
    pending_ += line;
  }
  void end() {
    std::lock_guard lock(mutex_);
    ended_ = true;
  }
  std::atomic<bool> closed_{false};
  std::atomic<bool> pulled_on_pool_{false};

 private:
  std::atomic<int> pages_left_{2};
  std::mutex mutex_;
  std::string pending_;  // guarded by mutex_
  bool ended_ = false;   // guarded by mutex_
};

struct Fixture {
  explicit Fixture(HttpServerLimits limits = {}) {
    router.add({.method = "GET", .pattern = "/hello/{name}", .handler = [](HttpRequest& req) {
                  return HttpReply::json(200, {{"hello", req.path_params.at(0)}});
                }});
    router.add({.method = "POST",
                .pattern = "/later",
                .max_body_bytes = 1024,
                .async_handler = [this](HttpRequest& req, Responder responder) {
                  std::thread([responder, body = req.body] {
                    std::this_thread::sleep_for(20ms);  // answered after the next request arrived
                    responder.send(HttpReply::json(201, {{"echo", body}}));
                  }).detach();
                }});
    router.add({.method = "POST",
                .pattern = "/forgotten",
                .max_body_bytes = 16,
                .async_handler = [](HttpRequest&, Responder) {}});
    router.add(
        {.method = "GET", .pattern = "/slow", .blocking = true, .handler = [this](HttpRequest&) {
           gate.wait();
           return HttpReply::json(200, {{"slow", true}});
         }});
    // On the loop, unless asked to wait: then the rest runs on the pool, behind the gate. The
    // thread that answered is recorded either way.
    router.add({.method = "GET", .pattern = "/maybe", .handler = [this](HttpRequest& req) {
                  auto answer = [](const char* where) {
                    return HttpReply::json(200, {{"where", where}});
                  };
                  if (req.param("wait") == "throw") {
                    return HttpReply::on_pool([]() -> HttpReply { throw std::runtime_error("x"); });
                  }
                  if (req.param("wait").empty()) return answer("loop");
                  return HttpReply::on_pool([this, answer] {
                    gate.wait();
                    return answer("pool");
                  });
                }});
    router.add({.method = "POST",
                .pattern = "/guarded",
                .max_body_bytes = 1 << 20,
                .cors = false,
                .check_head = [](const HttpRequest& head) -> std::optional<HttpReply> {
                  if (head.header("authorization") == "Bearer ok") return std::nullopt;
                  return HttpReply::error({401, "unauthorized", "no"});
                },
                .handler =
                    [](HttpRequest& req) {
                      return HttpReply::json(200, {{"bytes", req.body.size()}});
                    }});
    router.add({.method = "GET", .pattern = "/throws", .handler = [](HttpRequest&) -> HttpReply {
                  throw std::runtime_error("boom");
                }});
    router.add({.method = "GET", .pattern = "/unsafe", .handler = [](HttpRequest&) {
                  HttpReply reply = HttpReply::json(200, {{"ok", true}});
                  reply.headers.emplace_back("X-Bad", "a\r\nSet-Cookie: x=1");
                  reply.headers.emplace_back("X-Good", "fine");
                  return reply;
                }});
    router.add({.method = "GET", .pattern = "/stream", .handler = [this](HttpRequest&) {
                  HttpReply reply;
                  reply.stream = source;
                  return reply;
                }});
    HttpServer::Options options;
    options.router = &router;
    options.metrics = &metrics;
    options.logger = &logger;
    options.limits = limits;
    options.loop_threads = 2;
    options.worker_threads = 2;
    server = std::make_unique<HttpServer>(options);
    port = server->start("127.0.0.1", 0);
    REQUIRE(port > 0);
  }
  ~Fixture() {
    gate.open();
    server->stop();
  }

  Gate gate;
  std::shared_ptr<TestSource> source = std::make_shared<TestSource>();
  Router router;
  MetricsRegistry metrics;
  Logger logger{"http-test"};
  std::unique_ptr<HttpServer> server;
  int port = -1;
};

}  // namespace

TEST_CASE("http server: pipelined requests are answered in order, also when one answers later") {
  Fixture f;
  Client client(f.port);
  client.send(
      "POST /later HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\nfirst"
      "GET /hello/bob HTTP/1.1\r\nHost: t\r\n\r\n"
      "POST /later HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\n\r\nsecond"
      "GET /hello/eve HTTP/1.1\r\nHost: t\r\n\r\n");
  const auto& got = client.read_until("HTTP/1.1 ", 4);
  REQUIRE(client.occurrences("HTTP/1.1 ") >= 4);
  size_t first = got.find("\"echo\":\"first\"");
  size_t bob = got.find("\"hello\":\"bob\"");
  size_t second = got.find("\"echo\":\"second\"");
  size_t eve = got.find("\"hello\":\"eve\"");
  REQUIRE(first != std::string::npos);
  REQUIRE(eve != std::string::npos);
  CHECK(first < bob);
  CHECK(bob < second);
  CHECK(second < eve);
}

TEST_CASE("http server: with an idle cap of 0 an answered keep-alive connection is closed") {
  HttpServerLimits limits;
  limits.max_idle_connections = 0;
  limits.keep_alive_timeout = 30s;  // so only the cap can close it within the deadline
  Fixture f(limits);
  Client client(f.port);
  client.send("GET /hello/idle HTTP/1.1\r\nHost: t\r\n\r\n");
  REQUIRE(client.read_until("}").find("HTTP/1.1 200 OK") == 0);
  CHECK(client.received().find("Connection: keep-alive") != std::string::npos);
  CHECK(client.read_to_eof());  // at the next tick of its loop
}

TEST_CASE("http server: a connection whose reading paused goes quiet once it is answered") {
  // A request larger than the input cap before its head is parsed pauses reading; once the
  // kernel is drained the pause must end, or the loop reads that socket on every turn for ever.
  HttpServerLimits limits;
  limits.request.max_head_bytes = 1024;  // the cap before a head is parsed: 2 KiB
  Fixture f(limits);
  Client client(f.port);
  std::string body(8000, 'x');
  client.send(
      "POST /guarded HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ok\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body);
  REQUIRE(client.read_until("}").find("\"bytes\":8000") != std::string::npos);
  Counter& turns = f.metrics.counter("relay_http_loop_turns_total", "");
  uint64_t before = turns.value();
  std::this_thread::sleep_for(600ms);
  // Idle, each loop turns at its ticks (4 a second): a dozen at most. Spinning: thousands.
  CHECK(turns.value() - before < 40);
}

TEST_CASE("http server: a blocking route runs on the pool while the loops answer others") {
  Fixture f;
  Client slow(f.port);
  slow.send("GET /slow HTTP/1.1\r\nHost: t\r\n\r\n");
  for (int i = 0; i < 4; ++i) {  // both loops keep answering while the worker waits
    Client quick(f.port);
    quick.send("GET /hello/x HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(quick.read_until("}").find("HTTP/1.1 200 OK") == 0);
  }
  CHECK(slow.received().empty());
  f.gate.open();
  CHECK(slow.read_until("}").find("\"slow\":true") != std::string::npos);
}

TEST_CASE("http server: a loop route hands its rest to the pool only when it must block") {
  Fixture f;
  Client client(f.port);
  // Pipelined: the waiting one holds back the answer after it, in order, while other connections
  // are still answered on the loop.
  client.send(
      "GET /maybe?wait=1 HTTP/1.1\r\nHost: t\r\n\r\nGET /maybe HTTP/1.1\r\nHost: t\r\n\r\n");
  Client quick(f.port);
  quick.send("GET /maybe HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(quick.read_until("}").find("\"where\":\"loop\"") != std::string::npos);
  CHECK(client.received().empty());
  f.gate.open();
  const std::string& both = client.read_until("}", 2);
  size_t pool = both.find("\"where\":\"pool\"");
  size_t loop = both.find("\"where\":\"loop\"");
  CHECK(pool != std::string::npos);
  CHECK(loop != std::string::npos);
  CHECK(pool < loop);
  Client thrower(f.port);
  thrower.send("GET /maybe?wait=throw HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(thrower.read_until("}").find("HTTP/1.1 500") == 0);
  CHECK(thrower.received().find("internal_error") != std::string::npos);
}

TEST_CASE("http server: a request nobody answers gets a 500, not a hang") {
  Fixture f;
  Client client(f.port);
  client.send("POST /forgotten HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\n{}");
  CHECK(client.read_until("}").find("HTTP/1.1 500") == 0);
  CHECK(client.received().find("internal_error") != std::string::npos);
}

TEST_CASE("http server: the head check refuses before the body is read, and no CORS on the route") {
  Fixture f;
  SUBCASE("refused from the head: the body is never sent") {
    Client client(f.port);
    client.send(
        "POST /guarded HTTP/1.1\r\nHost: t\r\nContent-Length: 1000000\r\nOrigin: http://x\r\n\r\n");
    CHECK(client.read_until("}").find("HTTP/1.1 401") == 0);
    CHECK(client.received().find("Access-Control-Allow-Origin") == std::string::npos);
    CHECK(client.read_to_eof());
  }
  SUBCASE("admitted") {
    Client client(f.port);
    client.send(
        "POST /guarded HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer ok\r\n"
        "Content-Length: 3\r\n\r\nabc");
    CHECK(client.read_until("}").find("\"bytes\":3") != std::string::npos);
  }
  SUBCASE("too large for the route: 413 from the head") {
    Client client(f.port);
    client.send("POST /later HTTP/1.1\r\nHost: t\r\nContent-Length: 2048\r\n\r\n");
    CHECK(client.read_until("}").find("HTTP/1.1 413") == 0);
    CHECK(client.read_to_eof());
  }
  SUBCASE("OPTIONS on a route that is not for browsers") {
    Client client(f.port);
    client.send("OPTIONS /guarded HTTP/1.1\r\nHost: t\r\nOrigin: http://x\r\n\r\n");
    CHECK(client.read_until("}").find("HTTP/1.1 403") == 0);
    CHECK(client.received().find("Access-Control-Allow") == std::string::npos);
  }
}

TEST_CASE("http server: 404, 405, exceptions and unsafe headers get clean JSON answers") {
  Fixture f;
  Client client(f.port);
  client.send("GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(client.read_until("}").find("HTTP/1.1 404") == 0);
  Client wrong(f.port);
  wrong.send("DELETE /hello/bob HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(wrong.read_until("}").find("HTTP/1.1 405") == 0);
  CHECK(wrong.received().find("Allow: GET, HEAD, OPTIONS") != std::string::npos);
  Client thrower(f.port);
  thrower.send("GET /throws HTTP/1.1\r\nHost: t\r\n\r\n");
  CHECK(thrower.read_until("}").find("HTTP/1.1 500") == 0);
  Client unsafe(f.port);
  unsafe.send("GET /unsafe HTTP/1.1\r\nHost: t\r\n\r\n");
  const auto& got = unsafe.read_until("}");
  CHECK(got.find("X-Good: fine") != std::string::npos);
  CHECK(got.find("Set-Cookie") == std::string::npos);
  CHECK(got.find("X-Bad") == std::string::npos);
}

TEST_CASE("http server: a stream is pulled on the pool while blocking, then live on its loop") {
  Fixture f;
  Client client(f.port);
  client.send("GET /stream HTTP/1.1\r\nHost: t\r\n\r\n");
  client.read_until("page 1\n");
  CHECK(client.received().find("Transfer-Encoding: chunked") != std::string::npos);
  CHECK(client.received().find("page 2\n") < client.received().find("page 1\n"));
  CHECK(f.source->pulled_on_pool_);
  f.source->add("live one\n");
  // The test does not know the connection id to wake: the tick pulls quiet streams each second.
  CHECK(client.read_until("live one\n").find("live one\n") != std::string::npos);
  f.source->end();
  CHECK(client.read_until("0\r\n\r\n").find("0\r\n\r\n") != std::string::npos);
  CHECK(client.read_to_eof());
  auto deadline = Clock::now() + kDeadline;
  while (!f.source->closed_ && Clock::now() < deadline) std::this_thread::sleep_for(5ms);
  CHECK(f.source->closed_);
}

TEST_CASE("http server: static files with ETag and 304, HEAD without a body") {
  auto root = std::filesystem::temp_directory_path() /
              ("relay-static-" + std::to_string(::getpid()) + "-" +
               std::to_string(Clock::now().time_since_epoch().count()));
  std::filesystem::create_directories(root);
  std::ofstream(root / "index.html") << "<h1>hi</h1>";
  StaticFiles files(root.string());
  Router router;
  MetricsRegistry metrics;
  Logger logger{"http-test"};
  HttpServer::Options options;
  options.router = &router;
  options.metrics = &metrics;
  options.logger = &logger;
  options.static_files = &files;
  HttpServer server(options);
  int port = server.start("127.0.0.1", 0);
  REQUIRE(port > 0);
  {
    Client client(port);
    client.send("GET / HTTP/1.1\r\nHost: t\r\n\r\n");
    const auto& got = client.read_until("</h1>");
    REQUIRE(got.find("HTTP/1.1 200 OK") == 0);
    CHECK(got.find("text/html") != std::string::npos);
    size_t at = got.find("ETag: ");
    REQUIRE(at != std::string::npos);
    std::string etag = got.substr(at + 6, got.find("\r\n", at) - at - 6);
    Client again(port);
    again.send("GET /index.html HTTP/1.1\r\nHost: t\r\nIf-None-Match: " + etag + "\r\n\r\n");
    CHECK(again.read_until("\r\n\r\n").find("HTTP/1.1 304") == 0);
    Client head(port);
    head.send("HEAD / HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    CHECK(head.read_to_eof());
    CHECK(head.received().find("Content-Length: 11") != std::string::npos);
    CHECK(head.received().find("<h1>") == std::string::npos);
    Client missing(port);
    missing.send("GET /nope.js HTTP/1.1\r\nHost: t\r\n\r\n");
    CHECK(missing.read_until("}").find("HTTP/1.1 404") == 0);
  }
  server.stop();
  std::filesystem::remove_all(root);
}

TEST_CASE("http server: nothing is served before the on_bound callback returns") {
  // The services log their `listening` line from this callback; an access-log line of a request
  // that came in early must never precede it. A request sent from inside the callback must wait.
  Router router;
  std::atomic<bool> callback_returned{false};
  std::atomic<bool> served_early{false};
  std::atomic<bool> served{false};
  router.add({.method = "GET", .pattern = "/ping", .handler = [&](HttpRequest&) {
                if (!callback_returned) served_early = true;
                served = true;
                return HttpReply::json(200, {{"ok", true}});
              }});
  MetricsRegistry metrics;
  Logger logger{"http-test"};
  HttpServer::Options options;
  options.router = &router;
  options.metrics = &metrics;
  options.logger = &logger;
  HttpServer server(options);
  std::unique_ptr<Client> early;
  int seen_port = 0;
  int port = server.start("127.0.0.1", 0, [&](int bound_port) {
    seen_port = bound_port;
    early = std::make_unique<Client>(bound_port);  // the socket listens: the connect succeeds
    early->send("GET /ping HTTP/1.1\r\nHost: t\r\n\r\n");
    // Long enough for a loop that was already running to have served it.
    auto until = Clock::now() + 300ms;
    while (!served && Clock::now() < until) std::this_thread::sleep_for(5ms);
    callback_returned = true;
  });
  REQUIRE(port > 0);
  CHECK(seen_port == port);
  CHECK(early->read_until("\r\n\r\n").find("HTTP/1.1 200 OK") == 0);
  CHECK(served);
  CHECK_FALSE(served_early);
  server.stop();
}

}  // namespace relay
