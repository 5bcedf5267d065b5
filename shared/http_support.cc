#include "shared/http_support.h"

#include <algorithm>
#include <chrono>
#include <optional>

namespace relay {

// ---- ThreadPerConnectionQueue ----

ThreadPerConnectionQueue::~ThreadPerConnectionQueue() {
  shutdown();
}

void ThreadPerConnectionQueue::join_finished_locked() {
  for (auto id : finished_ids_) {
    auto it = std::find_if(threads_.begin(), threads_.end(),
                           [id](const std::thread& t) { return t.get_id() == id; });
    if (it != threads_.end()) {
      it->join();
      threads_.erase(it);
    }
  }
  finished_ids_.clear();
}

void ThreadPerConnectionQueue::enqueue(std::function<void()> fn) {
  std::lock_guard lock(mutex_);
  join_finished_locked();
  threads_.emplace_back([this, fn = std::move(fn)] {
    fn();
    std::lock_guard done_lock(mutex_);
    finished_ids_.push_back(std::this_thread::get_id());
  });
}

void ThreadPerConnectionQueue::shutdown() {
  std::list<std::thread> threads;
  {
    std::lock_guard lock(mutex_);
    threads.swap(threads_);
    finished_ids_.clear();
  }
  for (auto& thread : threads) thread.join();
}

// ---- responses ----

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_content(dump_json(body), "application/json");
}

void send_error(httplib::Response& res, const ApiError& error) {
  res.status = error.status;
  res.set_content(error_body(error), "application/json");
}

void add_cors_headers(const httplib::Request& req, httplib::Response& res) {
  if (res.has_header("Access-Control-Allow-Origin")) return;
  for (const auto& [name, value] : cors_headers(req.get_header_value("Origin"))) {
    res.set_header(name, value);
  }
}

namespace {

using Clock = std::chrono::steady_clock;

// The start of the request this worker thread is handling (each request is read, routed and
// answered on one thread), so the logger can compute its duration.
thread_local std::optional<Clock::time_point> request_started_at;

// Gives JSON bodies to errors the library or routing produced without one.
httplib::Server::HandlerResponse fill_error_body(const HttpServerOptions& options,
                                                 const httplib::Request& req,
                                                 httplib::Response& res) {
  add_cors_headers(req, res);
  if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
  switch (res.status) {
    case 404: {
      // A known path answered 404 for an allowed method (a missing file, an absent id) stays
      // 404; for any other method it is 405.
      auto error = no_route_error(*options.routes, req.method, req.path);
      if (error.status == 405) {
        res.set_header("Allow", join_methods(*options.routes->methods_for(req.path)));
      }
      send_error(res, error);
      break;
    }
    case 413: {
      // cpp-httplib caps form-encoded bodies at 8 KiB whatever the configured limit.
      bool form = req.get_header_value("Content-Type") == "application/x-www-form-urlencoded";
      send_error(res, {413, "payload_too_large",
                       form ? "form-encoded bodies are limited to 8192 bytes; send JSON with "
                              "Content-Type: application/json"
                            : payload_too_large_error(options.max_body_bytes).detail});
      break;
    }
    case 400:
      send_error(res, {400, "bad_request", "the request could not be parsed as HTTP"});
      break;
    default:
      send_error(res, {res.status, "http_" + std::to_string(res.status),
                       "the request failed with HTTP status " + std::to_string(res.status)});
  }
  return httplib::Server::HandlerResponse::Handled;
}

}  // namespace

void configure_server(httplib::Server& server, const HttpServerOptions& options) {
  server.new_task_queue = [] { return new ThreadPerConnectionQueue(); };
  server.set_keep_alive_timeout(options.keep_alive_timeout_seconds);
  server.set_keep_alive_max_count(10000);
  server.set_read_timeout(5, 0);
  server.set_write_timeout(options.write_timeout_seconds, 0);
  server.set_payload_max_length(options.max_body_bytes);
  // Responses go out as headers and body in separate writes; with Nagle on, the body waits for the
  // client's delayed ACK (~40 ms per keep-alive request).
  server.set_tcp_nodelay(true);

  server.set_pre_routing_handler([options](const httplib::Request& req, httplib::Response& res) {
    request_started_at = Clock::now();
    add_cors_headers(req, res);
    if (req.method != "OPTIONS") return httplib::Server::HandlerResponse::Unhandled;
    const auto* methods = options.routes->methods_for(req.path);
    if (methods == nullptr) {
      send_error(res, {404, "not_found", "no route for OPTIONS " + req.path});
    } else {
      res.status = 204;
      for (const auto& [name, value] : preflight_headers(*methods)) res.set_header(name, value);
    }
    return httplib::Server::HandlerResponse::Handled;
  });

  server.set_error_handler(httplib::Server::HandlerWithResponse(
      [options](const httplib::Request& req, httplib::Response& res) {
        return fill_error_body(options, req, res);
      }));

  server.set_exception_handler(
      [options](const httplib::Request& req, httplib::Response& res, std::exception_ptr error) {
        std::string what = "unknown exception";
        try {
          if (error) std::rethrow_exception(error);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        options.logger->error("unhandled exception", {{"path", req.path}, {"what", what}});
        add_cors_headers(req, res);
        send_error(res, {500, "internal_error", "the server failed to handle this request"});
      });

  server.set_logger([options](const httplib::Request& req, const httplib::Response& res) {
    const std::string& route = options.routes->label_for(req.path);
    double seconds = 0;
    if (request_started_at) {
      seconds = std::chrono::duration<double>(Clock::now() - *request_started_at).count();
      request_started_at.reset();
    }
    bool streaming = res.get_header_value("Content-Type") == "text/event-stream";
    if (!streaming) options.metrics->record_request(req.method, route, res.status, seconds);
    if (req.path == "/health" || req.path == "/metrics") return;
    options.logger->info("request", {{"method", req.method},
                                     {"path", req.path},
                                     {"status", res.status},
                                     {"duration_ms", seconds * 1000.0},
                                     {"remote", req.remote_addr}});
  });
}

int BackgroundServer::start(const std::string& host, int port) {
  // cpp-httplib 0.11.4 listens with a backlog of 5, so a burst of connections (a reconnect storm)
  // waits out SYN retries. Remember the listening socket (replacing the library's default options,
  // which also set SO_REUSEPORT and would let a second process share the port) and raise the
  // backlog once it is bound; Linux applies a repeated listen() to a listening socket.
  server_.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listening_fd_ = sock;
  });
  int bound = port;
  if (port == 0) {
    bound = server_.bind_to_any_port(host);
  } else if (!server_.bind_to_port(host, port)) {
    bound = -1;
  }
  if (bound <= 0) return -1;
  if (listening_fd_ >= 0) ::listen(listening_fd_, SOMAXCONN);
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  return bound;
}

void BackgroundServer::stop() {
  if (!thread_.joinable()) return;
  server_.stop();
  thread_.join();
}

}  // namespace relay
