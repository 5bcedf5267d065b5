#include "notify-service/event_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <list>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>

namespace relay {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kListenTag = 1;
constexpr uint64_t kWakeTag = 2;
constexpr uint64_t kFirstConnectionId = 16;
constexpr uint64_t kMaxLoops = 16;
constexpr auto kTick = std::chrono::milliseconds(250);
constexpr auto kLingerTime = std::chrono::seconds(2);
// Requests are not read while more than this is waiting to be written (a pipelining client that
// does not read its answers).
constexpr size_t kMaxUnsentAnswers = 256 * 1024;
// Output buffers larger than this are released once written, so a burst leaves no memory behind.
constexpr size_t kKeptBufferCapacity = 16 * 1024;
// Streams written per turn of the loop before it looks at its sockets again, so requests (a
// POST /notify, /health) are answered within a few milliseconds while a broadcast to tens of
// thousands of streams is being written; events published meanwhile join the pending writes.
constexpr size_t kStreamsPerTurn = 256;

const char* reason_phrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 204:
      return "No Content";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 411:
      return "Length Required";
    case 413:
      return "Payload Too Large";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Unknown";
  }
}

void append_headers(const HeaderList& headers, std::string* out) {
  for (const auto& [name, value] : headers) {
    out->append(name).append(": ").append(value).append("\r\n");
  }
}

std::string peer_address(const sockaddr_storage& address) {
  char text[INET6_ADDRSTRLEN] = {};
  if (address.ss_family == AF_INET) {
    const auto* v4 = reinterpret_cast<const sockaddr_in*>(&address);
    inet_ntop(AF_INET, &v4->sin_addr, text, sizeof(text));
  } else if (address.ss_family == AF_INET6) {
    const auto* v6 = reinterpret_cast<const sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &v6->sin6_addr, text, sizeof(text));
  }
  return text;
}

}  // namespace

// One event-loop thread and the connections it owns. Loop 0 also accepts, handing each new
// connection to the loops in turn, so streams (and the cost of writing them) are spread evenly.
class EventServer::Loop {
 public:
  Loop(const Options& options, const Handler& handler, const StreamEnded& stream_ended,
       size_t index, const std::vector<std::unique_ptr<Loop>>& loops)
      : options_(options),
        handler_(handler),
        stream_ended_(stream_ended),
        index_(index),
        loops_(loops) {}

  ~Loop() { stop(); }

  /// Starts the thread; `listen_fd` is watched by this loop when not -1.
  void start(int listen_fd);
  void stop();
  void wake(uint64_t id);
  /// The loop that owns connection `id`.
  static size_t loop_of(uint64_t id) { return id % kMaxLoops; }

 private:
  // A history replay written by a worker thread: the loop and the worker hand one page back and
  // forth (the worker waits until the loop has written the previous one).
  struct CatchUp {
    std::mutex mutex;
    std::condition_variable changed;
    bool flushed = true;   // guarded by mutex
    bool aborted = false;  // guarded by mutex
    std::atomic<bool> finished{false};
    std::thread thread;
  };

  enum class Mode {
    kRequests,   // reading requests, answering them
    kStreaming,  // writing an SSE stream
    kLingering,  // answered and half-closed; reading what the peer still sends, then closing
    kClosed,
  };

  struct Connection {
    uint64_t id = 0;
    int fd = -1;
    Mode mode = Mode::kRequests;
    std::string remote;
    std::string in;
    std::string out;
    size_t out_sent = 0;
    bool close_after_write = false;
    bool sent_continue = false;
    bool chunked = true;
    bool read_paused =
        false;  // `in` holds as much as one request may; the rest waits in the kernel
    Clock::time_point last_progress;  // last byte read or written
    std::shared_ptr<StreamSession> session;
    std::shared_ptr<CatchUp> catch_up;  // set while a worker writes the history replay
  };

  // A worker's message to the loop about a stream it is catching up.
  struct Posted {
    enum class Kind { kData, kLive, kEnded, kAdopt };
    uint64_t id;
    Kind kind;
    std::string data;  // kData: stream bytes; kAdopt: the peer's address
    int fd = -1;       // kAdopt: an accepted socket for this loop to own
  };

  void run();
  void accept_all();
  void adopt(int fd, std::string remote);
  void on_event(Connection& conn, uint32_t events);
  void read_input(Connection& conn);
  void process_requests(Connection& conn);
  void dispatch(Connection& conn, HttpRequest& request);
  HttpReply route(const HttpRequest& request);
  void queue_answer(Connection& conn, const HttpRequest* request, const HttpReply& reply,
                    bool keep_alive);
  void start_stream(Connection& conn, const HttpRequest& request, const HttpReply& reply);
  void pump_stream(Connection& conn);
  void append_stream_bytes(Connection& conn, const std::string& bytes);
  void end_stream(Connection& conn);
  bool flush(Connection& conn);
  void close_connection(Connection& conn);
  /// Handles worker posts and up to kStreamsPerTurn woken streams; true when woken streams remain
  /// (the loop then polls its sockets without sleeping and comes back for them).
  bool process_wakeups();
  void tick(Clock::time_point now);
  void start_catch_up(Connection& conn);
  void run_catch_up(std::shared_ptr<CatchUp> catch_up, std::shared_ptr<StreamSession> session,
                    uint64_t id);
  void post(Posted posted);
  /// Makes the loop's epoll_wait return (the eventfd becomes readable).
  void signal_loop();
  void reap_catch_ups(bool all);
  void shutdown_connections();
  Connection* find(uint64_t id);
  void set_accepting(bool accepting);

  const Options& options_;
  const Handler& handler_;
  const StreamEnded& stream_ended_;
  const size_t index_;
  const std::vector<std::unique_ptr<Loop>>& loops_;

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // Loop thread only.
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<uint64_t> closed_ids_;
  std::list<std::shared_ptr<CatchUp>> catch_ups_;
  uint64_t next_serial_ = kFirstConnectionId;
  size_t next_loop_ = 0;  // loop 0: where the next accepted connection goes
  bool accepting_ = true;
  // Woken streams not yet written, oldest first, from ready_next_ on.
  std::vector<uint64_t> ready_backlog_;
  size_t ready_next_ = 0;
  std::vector<Posted> posted_batch_;

  std::mutex wake_mutex_;
  std::vector<uint64_t> ready_;  // guarded by wake_mutex_
  std::vector<Posted> posted_;   // guarded by wake_mutex_
};

// ---- setup and teardown ----

void EventServer::Loop::start(int listen_fd) {
  listen_fd_ = listen_fd;
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (listen_fd_ >= 0) {
    epoll_event listen_event{};
    listen_event.events = EPOLLIN;
    listen_event.data.u64 = kListenTag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event);
  }
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.u64 = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_event);
  thread_ = std::thread([this] { run(); });
}

void EventServer::Loop::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  signal_loop();
  thread_.join();
  ::close(wake_fd_);
  ::close(epoll_fd_);
}

void EventServer::Loop::shutdown_connections() {
  for (auto& [id, conn] : connections_) {
    if (conn->mode == Mode::kClosed) continue;
    if (conn->mode == Mode::kStreaming && conn->chunked && !conn->close_after_write) {
      // Best effort: a reader that keeps up sees the stream end cleanly.
      conn->out.append("0\r\n\r\n");
      flush(*conn);
    }
    if (conn->mode != Mode::kClosed) close_connection(*conn);
  }
  reap_catch_ups(true);
  connections_.clear();
  std::lock_guard lock(wake_mutex_);
  for (const auto& posted : posted_) {
    if (posted.kind == Posted::Kind::kAdopt) ::close(posted.fd);
  }
  posted_.clear();
}

// ---- the loop ----

void EventServer::Loop::run() {
  std::vector<epoll_event> events(1024);
  auto next_tick = Clock::now() + kTick;
  bool streams_pending = false;
  while (!stopping_) {
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_tick - Clock::now());
    if (streams_pending) wait = std::chrono::milliseconds(0);
    int count = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                           static_cast<int>(std::max<int64_t>(wait.count(), 0)));
    if (count < 0 && errno != EINTR) {
      options_.logger->error("epoll_wait failed", {{"error", std::strerror(errno)}});
      break;
    }
    for (int i = 0; i < count; ++i) {
      uint64_t tag = events[i].data.u64;
      if (tag == kListenTag) {
        accept_all();
      } else if (tag == kWakeTag) {
        uint64_t value;
        [[maybe_unused]] auto got = ::read(wake_fd_, &value, sizeof(value));
      } else if (Connection* conn = find(tag)) {
        on_event(*conn, events[i].events);
      }
    }
    streams_pending = process_wakeups();
    auto now = Clock::now();
    if (now >= next_tick) {
      tick(now);
      next_tick = now + kTick;
    }
    for (uint64_t id : closed_ids_) connections_.erase(id);
    closed_ids_.clear();
  }
  shutdown_connections();
}

EventServer::Loop::Connection* EventServer::Loop::find(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second->mode == Mode::kClosed) return nullptr;
  return it->second.get();
}

void EventServer::Loop::set_accepting(bool accepting) {
  if (accepting_ == accepting) return;
  accepting_ = accepting;
  epoll_event event{};
  event.events = accepting ? static_cast<uint32_t>(EPOLLIN) : 0u;
  event.data.u64 = kListenTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &event);
}

void EventServer::Loop::accept_all() {
  while (true) {
    sockaddr_storage address{};
    socklen_t length = sizeof(address);
    int fd = accept4(listen_fd_, reinterpret_cast<sockaddr*>(&address), &length,
                     SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno == EINTR || errno == ECONNABORTED) continue;
      if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
        // Out of descriptors: stop accepting until the next tick instead of spinning.
        options_.logger->warn("accept paused", {{"error", std::strerror(errno)},
                                                {"connections", connections_.size()}});
        set_accepting(false);
      }
      return;
    }
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    Loop& owner = *loops_[next_loop_++ % loops_.size()];
    if (&owner == this) {
      adopt(fd, peer_address(address));
    } else {
      owner.post({0, Posted::Kind::kAdopt, peer_address(address), fd});
    }
  }
}

void EventServer::Loop::adopt(int fd, std::string remote) {
  if (stopping_) {
    ::close(fd);
    return;
  }
  auto conn = std::make_unique<Connection>();
  conn->id = next_serial_++ * kMaxLoops + index_;
  conn->fd = fd;
  conn->remote = std::move(remote);
  conn->last_progress = Clock::now();
  epoll_event event{};
  event.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
  event.data.u64 = conn->id;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0) {
    ::close(fd);
    return;
  }
  connections_.emplace(conn->id, std::move(conn));
}

void EventServer::Loop::on_event(Connection& conn, uint32_t events) {
  if (events & EPOLLERR) {
    close_connection(conn);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    read_input(conn);
    if (conn.mode == Mode::kClosed) return;
  }
  if (events & EPOLLOUT) {
    if (!flush(conn)) return;
    if (conn.mode == Mode::kStreaming) {
      pump_stream(conn);
    } else if (conn.mode == Mode::kRequests && !conn.in.empty()) {
      process_requests(conn);
    }
  }
}

void EventServer::Loop::read_input(Connection& conn) {
  char buffer[16 * 1024];
  bool peer_done = false;
  const size_t input_cap = options_.limits.max_head_bytes + options_.limits.max_body_bytes;
  while (true) {
    if (conn.mode == Mode::kRequests && conn.in.size() >= input_cap) {
      conn.read_paused = true;
      break;
    }
    ssize_t got = ::recv(conn.fd, buffer, sizeof(buffer), 0);
    if (got > 0) {
      conn.last_progress = Clock::now();
      // A stream's reader has nothing to say; a lingering close only drains.
      if (conn.mode == Mode::kRequests) conn.in.append(buffer, static_cast<size_t>(got));
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;
    peer_done = true;  // end of input, or an error
    break;
  }
  if (peer_done && conn.mode != Mode::kRequests) {
    // A stream reader never half-closes: it is gone.
    close_connection(conn);
    return;
  }
  if (conn.mode == Mode::kRequests) {
    process_requests(conn);
    if (peer_done && conn.mode == Mode::kRequests) {
      // The peer sent all it will: answer what is complete, then close.
      conn.close_after_write = true;
      flush(conn);
    }
  }
}

// ---- requests ----

void EventServer::Loop::process_requests(Connection& conn) {
  while (conn.mode == Mode::kRequests && !conn.close_after_write && !conn.in.empty() &&
         conn.out.size() - conn.out_sent < kMaxUnsentAnswers) {
    HttpRequest request;
    request.remote_addr = conn.remote;
    request.connection_id = conn.id;
    auto result = parse_http_request(conn.in, options_.limits, &request);
    if (result.state == HttpParseResult::State::kIncomplete) {
      if (result.expects_continue && !conn.sent_continue) {
        conn.out.append("HTTP/1.1 100 Continue\r\n\r\n");
        conn.sent_continue = true;
      }
      break;
    }
    if (result.state == HttpParseResult::State::kError) {
      conn.in.clear();
      queue_answer(conn, nullptr, HttpReply::error(result.error), false);
      break;
    }
    conn.in.erase(0, result.consumed);
    conn.sent_continue = false;
    dispatch(conn, request);
  }
  if (conn.in.empty() && conn.in.capacity() > kKeptBufferCapacity) std::string().swap(conn.in);
  if (!flush(conn)) return;
  if (conn.mode == Mode::kStreaming) {
    pump_stream(conn);
  } else if (conn.read_paused && conn.mode == Mode::kRequests &&
             conn.in.size() < options_.limits.max_head_bytes + options_.limits.max_body_bytes) {
    conn.read_paused = false;
    read_input(conn);  // edge-triggered: nothing else would tell us the kernel still holds bytes
  }
}

HttpReply EventServer::Loop::route(const HttpRequest& request) {
  const auto* methods = options_.routes->methods_for(request.path);
  if (request.method == "OPTIONS" && methods != nullptr) {
    HttpReply reply;
    reply.status = 204;
    reply.headers = preflight_headers(*methods);
    return reply;
  }
  bool allowed = methods != nullptr &&
                 std::find(methods->begin(), methods->end(), request.method) != methods->end();
  if (!allowed) {
    HttpReply reply =
        HttpReply::error(no_route_error(*options_.routes, request.method, request.path));
    if (reply.status == 405) reply.headers.emplace_back("Allow", join_methods(*methods));
    return reply;
  }
  try {
    return handler_(request);
  } catch (const std::exception& e) {
    options_.logger->error("unhandled exception", {{"path", request.path}, {"what", e.what()}});
  } catch (...) {
    options_.logger->error("unhandled exception", {{"path", request.path}});
  }
  return HttpReply::error({500, "internal_error", "the server failed to handle this request"});
}

void EventServer::Loop::dispatch(Connection& conn, HttpRequest& request) {
  auto started = Clock::now();
  HttpReply reply = route(request);
  if (reply.stream) {
    start_stream(conn, request, reply);
  } else {
    queue_answer(conn, &request, reply, request.keep_alive && !stopping_);
  }
  double seconds = std::chrono::duration<double>(Clock::now() - started).count();
  if (!reply.stream) {
    options_.metrics->record_request(request.method, options_.routes->label_for(request.path),
                                     reply.status, seconds);
  }
  if (request.path == "/health" || request.path == "/metrics") return;
  options_.logger->info("request", {{"method", request.method},
                                    {"path", request.path},
                                    {"status", reply.status},
                                    {"duration_ms", seconds * 1000.0},
                                    {"remote", request.remote_addr}});
}

void EventServer::Loop::queue_answer(Connection& conn, const HttpRequest* request,
                                     const HttpReply& reply, bool keep_alive) {
  std::string& out = conn.out;
  out.append(fmt::format("HTTP/1.1 {} {}\r\n", reply.status, reason_phrase(reply.status)));
  if (reply.status != 204) {
    out.append(fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", reply.content_type,
                           reply.body.size()));
  }
  append_headers(reply.headers, &out);
  append_headers(cors_headers(request != nullptr ? request->header("origin") : std::string()),
                 &out);
  out.append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  if (request == nullptr || request->method != "HEAD") out.append(reply.body);
  if (!keep_alive) conn.close_after_write = true;
}

// ---- streams ----

void EventServer::Loop::start_stream(Connection& conn, const HttpRequest& request,
                                     const HttpReply& reply) {
  conn.mode = Mode::kStreaming;
  conn.session = reply.stream;
  conn.chunked = !request.http10;
  std::string& out = conn.out;
  out.append("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n");
  append_headers(reply.headers, &out);
  append_headers(cors_headers(request.header("origin")), &out);
  out.append(conn.chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n");
  std::string().swap(conn.in);
  if (conn.session->needs_history()) start_catch_up(conn);
}

void EventServer::Loop::append_stream_bytes(Connection& conn, const std::string& bytes) {
  if (conn.chunked) {
    conn.out.append(fmt::format("{:x}\r\n", bytes.size())).append(bytes).append("\r\n");
  } else {
    conn.out.append(bytes);
  }
}

void EventServer::Loop::pump_stream(Connection& conn) {
  // Takes everything queued for the stream while its socket keeps accepting it.
  while (conn.mode == Mode::kStreaming && !conn.catch_up && conn.out_sent == conn.out.size()) {
    auto chunk = conn.session->next_chunk(std::chrono::milliseconds(0));
    if (!chunk) {
      end_stream(conn);
      return;
    }
    if (chunk->empty()) return;
    append_stream_bytes(conn, *chunk);
    if (!flush(conn)) return;
  }
}

void EventServer::Loop::end_stream(Connection& conn) {
  if (conn.chunked) conn.out.append("0\r\n\r\n");
  conn.close_after_write = true;
  flush(conn);
}

bool EventServer::Loop::flush(Connection& conn) {
  if (conn.mode == Mode::kClosed) return false;
  while (conn.out_sent < conn.out.size()) {
    ssize_t sent = ::send(conn.fd, conn.out.data() + conn.out_sent, conn.out.size() - conn.out_sent,
                          MSG_NOSIGNAL);
    if (sent > 0) {
      conn.out_sent += static_cast<size_t>(sent);
      conn.last_progress = Clock::now();
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return true;  // EPOLLOUT resumes
    close_connection(conn);
    return false;
  }
  if (conn.out.capacity() > kKeptBufferCapacity) {
    std::string().swap(conn.out);
  } else {
    conn.out.clear();
  }
  conn.out_sent = 0;
  if (conn.catch_up) {
    {
      std::lock_guard lock(conn.catch_up->mutex);
      conn.catch_up->flushed = true;
    }
    conn.catch_up->changed.notify_one();
  }
  if (conn.close_after_write) {
    if (conn.mode == Mode::kRequests) {
      // Lingering close: the peer may still be sending a body we refused; reading it for a moment
      // lets our answer arrive instead of a reset.
      ::shutdown(conn.fd, SHUT_WR);
      conn.mode = Mode::kLingering;
      conn.close_after_write = false;
      conn.last_progress = Clock::now();
      return false;
    }
    close_connection(conn);
    return false;
  }
  return true;
}

void EventServer::Loop::close_connection(Connection& conn) {
  if (conn.mode == Mode::kClosed) return;
  bool was_stream = conn.session != nullptr;
  conn.mode = Mode::kClosed;
  ::close(conn.fd);  // also removes it from the epoll set
  conn.fd = -1;
  if (conn.catch_up) {
    {
      std::lock_guard lock(conn.catch_up->mutex);
      conn.catch_up->aborted = true;
    }
    conn.catch_up->changed.notify_one();
    conn.catch_up.reset();
  }
  if (was_stream && stream_ended_) stream_ended_(*conn.session);
  closed_ids_.push_back(conn.id);
}

// ---- wake-ups, ticks and history workers ----

void EventServer::Loop::wake(uint64_t id) {
  bool first;
  {
    std::lock_guard lock(wake_mutex_);
    first = ready_.empty() && posted_.empty();
    ready_.push_back(id);
  }
  if (first) signal_loop();  // later ones find the loop already signalled
}

void EventServer::Loop::post(Posted posted) {
  bool first;
  {
    std::lock_guard lock(wake_mutex_);
    first = ready_.empty() && posted_.empty();
    posted_.push_back(std::move(posted));
  }
  if (first) signal_loop();
}

void EventServer::Loop::signal_loop() {
  uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof(one));
}

bool EventServer::Loop::process_wakeups() {
  posted_batch_.clear();
  {
    std::lock_guard lock(wake_mutex_);
    ready_backlog_.insert(ready_backlog_.end(), ready_.begin(), ready_.end());
    ready_.clear();
    posted_batch_.swap(posted_);
  }
  for (auto& posted : posted_batch_) {
    if (posted.kind == Posted::Kind::kAdopt) {
      adopt(posted.fd, std::move(posted.data));
      continue;
    }
    Connection* conn = find(posted.id);
    if (conn == nullptr || conn->mode != Mode::kStreaming) continue;
    switch (posted.kind) {
      case Posted::Kind::kData:
        append_stream_bytes(*conn, posted.data);
        flush(*conn);
        break;
      case Posted::Kind::kLive:
        conn->catch_up.reset();
        if (flush(*conn)) pump_stream(*conn);
        break;
      case Posted::Kind::kEnded:
        conn->catch_up.reset();
        end_stream(*conn);
        break;
      case Posted::Kind::kAdopt:
        break;  // handled above
    }
  }
  for (size_t budget = kStreamsPerTurn; budget > 0 && ready_next_ < ready_backlog_.size();
       --budget) {
    Connection* conn = find(ready_backlog_[ready_next_++]);
    if (conn == nullptr || conn->mode != Mode::kStreaming || conn->catch_up) continue;
    if (conn->out_sent == conn->out.size()) {
      pump_stream(*conn);
    } else if (conn->session->subscriber()->was_cut()) {
      close_connection(*conn);  // cut for its backlog: what it has not read is dropped
    }
  }
  if (ready_next_ < ready_backlog_.size()) return true;
  ready_backlog_.clear();
  ready_next_ = 0;
  if (ready_backlog_.capacity() > 65536) std::vector<uint64_t>().swap(ready_backlog_);
  return false;
}

void EventServer::Loop::tick(Clock::time_point now) {
  set_accepting(true);
  for (auto& [id, conn_ptr] : connections_) {
    Connection& conn = *conn_ptr;
    auto quiet = now - conn.last_progress;
    switch (conn.mode) {
      case Mode::kClosed:
        break;
      case Mode::kRequests:
        if (conn.out_sent < conn.out.size()) {
          if (quiet > options_.request_timeout) close_connection(conn);
        } else if (conn.in.empty() ? quiet > options_.keep_alive_timeout
                                   : quiet > options_.request_timeout) {
          close_connection(conn);
        }
        break;
      case Mode::kLingering:
        if (quiet > kLingerTime) close_connection(conn);
        break;
      case Mode::kStreaming:
        if (conn.catch_up) break;
        if (conn.out_sent == conn.out.size()) {
          // A heartbeat can only be due on a stream that wrote nothing for a second (the
          // shortest HEARTBEAT_SECONDS); busy streams are left to their wake-ups.
          if (quiet >= std::chrono::seconds(1)) pump_stream(conn);
        } else if (conn.session->subscriber()->was_cut() ||
                   quiet > options_.stalled_stream_timeout) {
          close_connection(conn);
        }
        break;
    }
  }
  reap_catch_ups(false);
}

void EventServer::Loop::start_catch_up(Connection& conn) {
  auto catch_up = std::make_shared<CatchUp>();
  conn.catch_up = catch_up;
  catch_up->thread = std::thread([this, catch_up, session = conn.session, id = conn.id] {
    run_catch_up(catch_up, session, id);
  });
  catch_ups_.push_back(std::move(catch_up));
}

void EventServer::Loop::run_catch_up(std::shared_ptr<CatchUp> catch_up,
                                     std::shared_ptr<StreamSession> session, uint64_t id) {
  while (true) {
    {
      std::unique_lock lock(catch_up->mutex);
      catch_up->changed.wait(lock, [&] { return catch_up->flushed || catch_up->aborted; });
      if (catch_up->aborted) break;
    }
    auto chunk = session->next_chunk(std::chrono::milliseconds(0));
    if (!chunk) {
      post({id, Posted::Kind::kEnded, {}});
      break;
    }
    bool live = session->live();
    if (!chunk->empty()) {
      {
        std::lock_guard lock(catch_up->mutex);
        catch_up->flushed = false;
      }
      post({id, Posted::Kind::kData, std::move(*chunk)});
    }
    if (live) {
      post({id, Posted::Kind::kLive, {}});
      break;
    }
  }
  catch_up->finished = true;
}

void EventServer::Loop::reap_catch_ups(bool all) {
  for (auto it = catch_ups_.begin(); it != catch_ups_.end();) {
    if (all) {
      {
        std::lock_guard lock((*it)->mutex);
        (*it)->aborted = true;
      }
      (*it)->changed.notify_one();
    }
    if (all || (*it)->finished) {
      (*it)->thread.join();
      it = catch_ups_.erase(it);
    } else {
      ++it;
    }
  }
}

// ---- HttpReply and EventServer ----

HttpReply HttpReply::json(int status, const nlohmann::json& body) {
  HttpReply reply;
  reply.status = status;
  reply.body = dump_json(body);
  return reply;
}

HttpReply HttpReply::error(const ApiError& error) {
  HttpReply reply;
  reply.status = error.status;
  reply.body = error_body(error);
  return reply;
}

EventServer::EventServer(Options options, Handler handler, StreamEnded stream_ended)
    : options_(std::move(options)),
      handler_(std::move(handler)),
      stream_ended_(std::move(stream_ended)) {}

EventServer::~EventServer() {
  stop();
}

int EventServer::start(const std::string& host, int port) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (getaddrinfo(host.c_str(), std::to_string(port).c_str(), &hints, &found) != 0) return -1;
  for (addrinfo* ai = found; ai != nullptr && listen_fd_ < 0; ai = ai->ai_next) {
    int fd = ::socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) continue;
    // SO_REUSEADDR only: a second instance must not silently share the port (SO_REUSEPORT).
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    if (::bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && ::listen(fd, SOMAXCONN) == 0) {
      listen_fd_ = fd;
    } else {
      ::close(fd);
    }
  }
  freeaddrinfo(found);
  if (listen_fd_ < 0) return -1;

  sockaddr_storage bound{};
  socklen_t length = sizeof(bound);
  getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&bound), &length);
  int bound_port =
      ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                        : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);

  size_t count = std::clamp<size_t>(options_.threads, 1, kMaxLoops);
  for (size_t i = 0; i < count; ++i) {
    loops_.push_back(std::make_unique<Loop>(options_, handler_, stream_ended_, i, loops_));
  }
  for (size_t i = 0; i < count; ++i) loops_[i]->start(i == 0 ? listen_fd_ : -1);
  return bound_port;
}

void EventServer::stop() {
  for (auto& loop : loops_) loop->stop();
  loops_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void EventServer::wake(uint64_t connection_id) {
  loops_[Loop::loop_of(connection_id)]->wake(connection_id);
}

}  // namespace relay
