// In-process tests of notify-service on the shared event-loop server: a real HttpServer on
// 127.0.0.1 with a real Hub and NotifyRoutes, driven through plain sockets while other threads
// publish, so the ThreadSanitizer suite (which runs the unit label) covers the loops, wake-ups and
// history workers. Every wait has a deadline; nothing sleeps to make a test pass.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "notify-service/config.h"
#include "notify-service/hub.h"
#include "notify-service/notify_routes.h"
#include "shared/http/http_server.h"
#include "shared/sse.h"
#include "tests/support/chunked_decoder.h"
#include "tests/support/raw_socket.h"

namespace relay {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Long enough for a loaded (or sanitized) machine; the tests finish far sooner when all is well.
constexpr auto kDeadline = 10s;

Message message(int64_t id, std::string channel = "general") {
  return Message{id,
                 "content " + std::to_string(id),
                 "tester",
                 std::move(channel),
                 "",
                 1700000000000 + id,
                 EventKind::kMessage,
                 0,
                 ""};
}

// A hub, the routes and an HttpServer wired as notify_service.cc wires them, on a free port.
class TestServer {
 public:
  explicit TestServer(HistoryFetch fetch = {}, size_t threads = 2) {
    config_.heartbeat_seconds = 3600;  // no pings unless a test asks
    hub_ = std::make_unique<Hub>(Hub::Options{}, Hub::Stats{});
    presence_ = std::make_unique<PresenceTracker>(
        std::chrono::milliseconds(0),
        [hub = hub_.get()](const Message& presence) { hub->publish_transient(presence); });
    if (!fetch) {
      fetch = [](const MessageFilter&, int64_t, int) -> std::optional<std::vector<Message>> {
        return std::nullopt;
      };
    }
    routes_ = std::make_unique<NotifyRoutes>(
        config_, *hub_, *presence_, std::move(fetch),
        [this](uint64_t connection_id) { server_->wake(connection_id); }, metrics_, logger_);
    routes_->add_routes(router_);
    HttpServer::Options options;
    options.router = &router_;
    options.metrics = &metrics_;
    options.logger = &logger_;
    options.limits.keep_alive_timeout = 5s;
    options.loop_threads = threads;
    server_ = std::make_unique<HttpServer>(options);
    port_ = server_->start("127.0.0.1", 0);
    REQUIRE(port_ > 0);
  }
  ~TestServer() { server_->stop(); }

  Hub& hub() { return *hub_; }
  HttpServer& server() { return *server_; }
  int port() const { return port_; }

  /// Waits until the hub holds `count` subscribers.
  bool wait_subscribers(size_t count) {
    auto deadline = Clock::now() + kDeadline;
    while (hub_->subscriber_count() != count) {
      if (Clock::now() > deadline) return false;
      std::this_thread::sleep_for(2ms);  // polling interval: the hub has no wait for a count
    }
    return true;
  }

 private:
  NotifyServiceConfig config_;
  MetricsRegistry metrics_;
  Logger logger_{"notify-test"};
  std::unique_ptr<Hub> hub_;
  std::unique_ptr<PresenceTracker> presence_;
  std::unique_ptr<NotifyRoutes> routes_;
  Router router_;
  std::unique_ptr<HttpServer> server_;
  int port_ = -1;
};

using testing::ChunkedDecoder;
using testing::RawResponse;
using testing::RawSocket;

// One whole response read off `socket` within the deadline: a 200 whose body contains `text`.
bool read_ok_containing(RawSocket& socket, std::string_view text) {
  std::optional<RawResponse> response = socket.read_response(kDeadline);
  return response && response->status == 200 && response->body.find(text) != std::string::npos;
}

// One GET /events read over a RawSocket on the caller's thread (so one thread can poll many): the
// response head, the chunked body decoded, and the SSE events parsed from it.
class Stream {
 public:
  Stream(int port, const std::string& target, const std::string& extra_headers = "")
      : socket_(port), parser_([this](const SseEvent& event) { on_event(event); }) {
    REQUIRE(socket_.connected());
    REQUIRE(
        socket_.send_all("GET " + target + " HTTP/1.1\r\nHost: test\r\n" + extra_headers + "\r\n"));
  }

  /// Reads until `done()` holds, the stream ends or the deadline passes; returns done().
  bool read_until(const std::function<bool()>& done) {
    auto deadline = Clock::now() + kDeadline;
    while (!done()) {
      if (eof_ || Clock::now() > deadline) return false;
      poll_once(20ms);
    }
    return true;
  }

  /// Reads what is available within `wait` (for callers polling several streams).
  void poll_once(std::chrono::milliseconds wait) {
    if (eof_) return;
    if (!socket_.receive(wait) && socket_.ended()) eof_ = true;
    raw_ += socket_.buffer();
    socket_.buffer().clear();
    decode();
  }

  bool wait_connected() {
    return read_until([this] { return connected_; });
  }
  /// Reads until the server closes the connection.
  bool wait_eof() {
    read_until([] { return false; });
    return eof_;
  }

  void close() { socket_.close(); }
  const std::string& head() const { return head_; }
  const std::string& raw() const { return raw_; }
  const std::vector<int64_t>& ids() const { return ids_; }
  const std::vector<SseEvent>& events() const { return events_; }
  bool terminated() const { return terminated_; }  // the zero-length chunk arrived
  bool eof() const { return eof_; }

 private:
  void decode() {
    if (head_.empty()) {
      size_t head_end = raw_.find("\r\n\r\n");
      if (head_end == std::string::npos) return;
      head_ = raw_.substr(0, head_end + 4);
      cursor_ = head_end + 4;
    }
    if (terminated_ || cursor_ == raw_.size()) return;
    std::string body;
    ChunkedDecoder::Status status = decoder_.feed(std::string_view(raw_).substr(cursor_), &body);
    cursor_ = raw_.size();
    REQUIRE(status != ChunkedDecoder::Status::kError);
    terminated_ = status == ChunkedDecoder::Status::kDone;
    parser_.feed(body);
  }

  void on_event(const SseEvent& event) {
    events_.push_back(event);
    if (event.event == "connected") connected_ = true;
    if (event.event == "message") ids_.push_back(std::stoll(event.id));
  }

  RawSocket socket_;
  ChunkedDecoder decoder_;
  SseParser parser_;
  std::string raw_;
  std::string head_;
  size_t cursor_ = 0;
  bool connected_ = false;
  bool terminated_ = false;
  bool eof_ = false;
  std::vector<SseEvent> events_;
  std::vector<int64_t> ids_;
};

std::vector<int64_t> id_range(int64_t first, int64_t last) {
  std::vector<int64_t> ids;
  for (int64_t id = first; id <= last; ++id) ids.push_back(id);
  return ids;
}

// A gate a history fetch waits behind until the test opens it (also on the way out of a failed
// test, so no worker is left waiting while the server joins it).
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
  void pass() {
    std::unique_lock lock(mutex_);
    entered_ = true;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  bool wait_entered() {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, kDeadline, [this] { return entered_; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool open_ = false;
  bool entered_ = false;
};

// Opens a gate when it goes out of scope: declared after the server, so a failing test does not
// leave stop() joining a worker that waits behind the gate.
class OpenOnExit {
 public:
  explicit OpenOnExit(Gate& gate) : gate_(gate) {}
  ~OpenOnExit() { gate_.open(); }
  OpenOnExit(const OpenOnExit&) = delete;
  OpenOnExit& operator=(const OpenOnExit&) = delete;

 private:
  Gate& gate_;
};

}  // namespace

TEST_CASE(
    "notify server: concurrent publishers reach every stream once, in order, and stop ends "
    "streams with the chunked terminator") {
  TestServer server;
  constexpr int kStreams = 6;
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < kStreams; ++i) {
    streams.push_back(std::make_unique<Stream>(server.port(), "/events"));
  }
  auto dev_stream = std::make_unique<Stream>(server.port(), "/events?channels=dev");
  for (auto& stream : streams) REQUIRE(stream->wait_connected());
  REQUIRE(dev_stream->wait_connected());
  REQUIRE(server.wait_subscribers(kStreams + 1));
  CHECK(streams[0]->head().find("Transfer-Encoding: chunked\r\n") != std::string::npos);

  // Publishers take the next ids under one lock, so the hub sees them in order and accepts each
  // (it drops ids at or below the last one seen); the wake-ups still come from every thread.
  std::mutex publish_mutex;
  int64_t next_id = 0;
  std::vector<int64_t> dev_ids;  // guarded by publish_mutex
  std::atomic<int> failures{0};
  auto next_batch = [&](size_t size) {
    std::vector<Message> batch;
    for (size_t i = 0; i < size; ++i) {
      ++next_id;
      bool dev = next_id % 5 == 0;
      if (dev) dev_ids.push_back(next_id);
      batch.push_back(message(next_id, dev ? "dev" : "general"));
    }
    return batch;
  };
  constexpr int kHubPublishers = 3;
  constexpr int kRounds = 40;
  std::vector<std::thread> publishers;
  for (int p = 0; p < kHubPublishers; ++p) {
    publishers.emplace_back([&, p] {
      for (int round = 0; round < kRounds; ++round) {
        std::lock_guard lock(publish_mutex);
        auto batch = next_batch(1 + static_cast<size_t>((round + p) % 3));
        if (server.hub().publish(batch) != batch.size()) ++failures;
      }
    });
  }
  // And POST /notify on one keep-alive connection, answered on a loop thread.
  constexpr int kPosts = 20;
  publishers.emplace_back([&] {
    RawSocket socket(server.port());
    for (int round = 0; round < kPosts; ++round) {
      std::lock_guard lock(publish_mutex);
      auto batch = next_batch(2);
      nlohmann::json body = nlohmann::json::array();
      for (const auto& m : batch) body.push_back(message_to_json(m));
      std::string text = body.dump();
      if (!socket.send_all("POST /notify HTTP/1.1\r\nHost: test\r\nContent-Type: "
                           "application/json\r\nContent-Length: " +
                           std::to_string(text.size()) + "\r\n\r\n" + text)) {
        ++failures;
        return;
      }
      if (!read_ok_containing(socket, "\"accepted\":2")) {
        ++failures;
        return;
      }
    }
  });

  // Read every stream while the publishers run.
  auto all_streams = [&] {
    std::vector<Stream*> all;
    for (auto& stream : streams) all.push_back(stream.get());
    all.push_back(dev_stream.get());
    return all;
  }();
  const size_t total = kHubPublishers * kRounds * 2 + kPosts * 2;  // batches of 1, 2, 3 average 2
  auto deadline = Clock::now() + kDeadline;
  auto everything_read = [&] {
    for (size_t i = 0; i < streams.size(); ++i) {
      if (streams[i]->ids().size() < total) return false;
    }
    std::lock_guard lock(publish_mutex);
    return next_id == static_cast<int64_t>(total) && dev_stream->ids().size() >= dev_ids.size();
  };
  while (!everything_read() && Clock::now() < deadline) {
    for (Stream* stream : all_streams) stream->poll_once(1ms);
  }
  for (auto& thread : publishers) thread.join();
  REQUIRE(failures == 0);
  REQUIRE(next_id == static_cast<int64_t>(total));

  const std::vector<int64_t> expected = id_range(1, static_cast<int64_t>(total));
  for (size_t i = 0; i < streams.size(); ++i) {
    CAPTURE(i);
    CHECK(streams[i]->ids() == expected);
    CHECK_FALSE(streams[i]->eof());
  }
  CHECK(dev_stream->ids() == dev_ids);

  // Stop while every stream is open: each ends with the terminating chunk, then the connection
  // closes, and every subscriber is released.
  server.server().stop();
  for (Stream* stream : all_streams) {
    CHECK(stream->wait_eof());
    CHECK(stream->terminated());
    CHECK(stream->raw().size() >= 5);
    CHECK(stream->raw().substr(stream->raw().size() - 5) == "0\r\n\r\n");
  }
  CHECK(server.hub().subscriber_count() == 0);
  RawSocket after(server.port());
  CHECK_FALSE(after.connected());
}

TEST_CASE("notify server: requests on many connections answer while streams are open") {
  TestServer server;
  std::vector<std::unique_ptr<Stream>> streams;
  for (int i = 0; i < 4; ++i) {
    streams.push_back(std::make_unique<Stream>(server.port(), "/events"));
  }
  for (auto& stream : streams) REQUIRE(stream->wait_connected());
  // Several clients at once, each pipelining on its own connection (spread over both loops).
  std::atomic<int> answered{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 4; ++c) {
    clients.emplace_back([&] {
      RawSocket socket(server.port());
      std::string requests;
      for (int i = 0; i < 5; ++i) requests += "GET /health HTTP/1.1\r\nHost: test\r\n\r\n";
      if (!socket.send_all(requests)) return;
      for (int i = 0; i < 5; ++i) {
        if (read_ok_containing(socket, "\"subscribers\":4")) ++answered;
      }
    });
  }
  for (auto& thread : clients) thread.join();
  CHECK(answered == 20);

  // A stream whose reader leaves frees its subscriber.
  streams[0]->close();
  CHECK(server.wait_subscribers(3));
  server.hub().publish({message(1)});
  for (size_t i = 1; i < streams.size(); ++i) {
    CHECK(streams[i]->read_until([&] { return streams[i]->ids().size() == 1; }));
  }
  // Hub shutdown (the service's stop order) ends every stream from the hub's side.
  server.hub().shutdown();
  for (size_t i = 1; i < streams.size(); ++i) {
    CHECK(streams[i]->wait_eof());
    CHECK(streams[i]->terminated());
  }
  CHECK(server.wait_subscribers(0));
}

TEST_CASE("notify server: a history replay runs on a worker and hands over to live events") {
  Gate gate;
  const std::vector<Message> history = {message(1), message(2), message(3), message(4), message(5)};
  TestServer server([&](const MessageFilter&, int64_t after, int limit) {
    gate.pass();
    std::vector<Message> page;
    for (const auto& m : history) {
      if (m.id > after && static_cast<int>(page.size()) < limit) page.push_back(m);
    }
    return std::optional(page);
  });
  OpenOnExit open_on_exit(gate);
  // The hub has seen nothing, so any resume needs message-service's history.
  Stream stream(server.port(), "/events", "Last-Event-ID: 2\r\n");
  REQUIRE(gate.wait_entered());
  REQUIRE(server.wait_subscribers(1));
  // Published while the replay is in flight: queued behind it, the overlap sent once.
  server.hub().publish({message(4), message(5), message(6), message(7)});
  gate.open();
  REQUIRE(stream.read_until([&] { return stream.ids().size() >= 5; }));
  server.hub().publish({message(8)});
  REQUIRE(stream.read_until([&] { return stream.ids().size() >= 6; }));
  CHECK(stream.ids() == id_range(3, 8));
  REQUIRE_FALSE(stream.events().empty());
  CHECK(stream.events().front().event == "connected");
  CHECK(stream.events().front().data.find("\"resume\":\"history\"") != std::string::npos);
}

TEST_CASE("notify server: a reader that leaves during a history replay frees its slot") {
  Gate gate;
  TestServer server([&](const MessageFilter&, int64_t, int) {
    gate.pass();
    return std::optional(std::vector<Message>{message(1), message(2)});
  });
  OpenOnExit open_on_exit(gate);
  auto stream = std::make_unique<Stream>(server.port(), "/events", "Last-Event-ID: 0\r\n");
  REQUIRE(gate.wait_entered());
  REQUIRE(server.wait_subscribers(1));
  stream->close();
  // Freed while the worker still waits for message-service.
  CHECK(server.wait_subscribers(0));
  gate.open();

  // The server is fine afterwards.
  Stream healthy(server.port(), "/events");
  REQUIRE(healthy.wait_connected());
  server.hub().publish({message(10)});
  CHECK(healthy.read_until([&] { return healthy.ids().size() == 1; }));
}

TEST_CASE("notify server: stop while a history replay is in flight ends the stream") {
  Gate gate;
  TestServer server([&](const MessageFilter&, int64_t, int) {
    gate.pass();
    return std::optional(std::vector<Message>{message(1)});
  });
  OpenOnExit open_on_exit(gate);
  Stream stream(server.port(), "/events", "Last-Event-ID: 0\r\n");
  REQUIRE(gate.wait_entered());
  REQUIRE(stream.wait_connected());  // the greeting comes before the first page
  std::thread stopper([&] { server.server().stop(); });
  // stop() ends the stream at once (the subscriber goes), then joins the worker, which can only
  // finish once message-service answers.
  CHECK(server.wait_subscribers(0));
  gate.open();
  stopper.join();
  CHECK(stream.wait_eof());
  CHECK(stream.terminated());
  CHECK(stream.ids().empty());
}

}  // namespace relay
