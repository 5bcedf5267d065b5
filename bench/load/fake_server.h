#pragma once

// Runs a cpp-httplib server on a background thread for the load tool's tests, which drive
// sse_load against small fake servers (a misbehaving notify-service, an nchan stand-in). Test-only:
// the services run on shared/http's server.

#include <chrono>
#include <string>
#include <thread>

#include <httplib.h>

namespace relay::load {

/// Serves `server` on 127.0.0.1 from a background thread with a fixed pool big enough for the
/// tests' few streams and publishers (cpp-httplib's default of 8 threads is not: each open SSE
/// stream holds one). stop() (or destruction) stops it and joins. Not thread-safe.
class FakeServerThread {
 public:
  explicit FakeServerThread(httplib::Server& server) : server_(server) {
    server_.new_task_queue = [] { return new httplib::ThreadPool(kThreads); };
  }
  ~FakeServerThread() { stop(); }
  FakeServerThread(const FakeServerThread&) = delete;
  FakeServerThread& operator=(const FakeServerThread&) = delete;

  /// Binds a free port and starts serving; returns the port, or -1.
  int start() {
    int port = server_.bind_to_any_port("127.0.0.1");
    if (port <= 0) return -1;
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return port;
  }
  void stop() {
    if (!thread_.joinable()) return;
    server_.stop();
    thread_.join();
  }

 private:
  static constexpr size_t kThreads = 32;
  httplib::Server& server_;
  std::thread thread_;
};

}  // namespace relay::load
