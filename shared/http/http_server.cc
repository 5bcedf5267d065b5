#include "shared/http/http_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "shared/http/forwarded_for.h"
#include "shared/http/redaction.h"
#include "shared/http/worker_pool.h"

namespace relay {

namespace {

using Clock = std::chrono::steady_clock;

constexpr uint64_t kListenTag = 1;
constexpr uint64_t kWakeTag = 2;
constexpr uint64_t kFirstConnectionId = 16;
constexpr uint64_t kMaxLoops = 16;
constexpr auto kTick = std::chrono::milliseconds(250);
constexpr auto kLingerTime = std::chrono::seconds(2);
// Requests are not parsed while more than this is waiting to be written (a pipelining client that
// does not read its answers); parsing resumes when the socket drains.
constexpr size_t kMaxUnsentAnswers = 256 * 1024;
// Buffers larger than this are released once empty, so a burst leaves no memory behind.
constexpr size_t kKeptBufferCapacity = 16 * 1024;
// Streams written per turn of the loop before it looks at its sockets again, so requests are
// answered within a few milliseconds while a broadcast to tens of thousands of streams is written.
constexpr size_t kStreamsPerTurn = 256;
// Rounds of parse-answer-flush one connection gets per turn before the loop serves the others.
constexpr int kRoundsPerTurn = 16;

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

std::string too_many_connections_answer() {
  std::string body = error_body(
      {503, "too_many_connections", "the server holds its limit of open connections; retry later"});
  return fmt::format(
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nContent-Length: "
      "{}\r\nRetry-After: 1\r\nConnection: close\r\n\r\n{}",
      body.size(), body);
}

}  // namespace

// What the server keeps for all its loops.
struct HttpServer::Shared {
  explicit Shared(Options given) : options(std::move(given)) {}
  const Options options;
  std::unique_ptr<WorkerPool> pool;
  std::atomic<size_t> open_connections{0};
  // Each loop's idle keep-alive connections as of its last tick (when each went idle), so the
  // loops can close the oldest across all of them when there are more than max_idle_connections.
  std::mutex idle_mutex;
  std::vector<std::vector<std::chrono::steady_clock::time_point>> idle_since;  // by loop
  Counter* refused_connections = nullptr;
  Counter* refused_requests = nullptr;
  Counter* dropped_headers = nullptr;
  Counter* loop_turns = nullptr;
};

// One event-loop thread and the connections it owns. Loop 0 also accepts, handing each new
// connection to the loops in turn, so connections (and the cost of writing them) spread evenly.
class HttpServer::Loop {
 public:
  class Mailbox;

  Loop(Shared& shared, size_t index, const std::vector<std::unique_ptr<Loop>>& loops);
  ~Loop();

  /// Starts the thread; `listen_fd` is watched by this loop when not -1.
  void start(int listen_fd);
  /// Closes every connection and joins the thread.
  void stop();
  /// From then on, answers and replay pages from other threads are dropped.
  void close_mailbox();
  void wake(uint64_t id);
  /// The loop that owns connection `id`.
  static size_t loop_of(uint64_t id) { return id % kMaxLoops; }

 private:
  enum class Mode {
    kRequests,   // reading requests, answering them
    kStreaming,  // writing a stream
    kLingering,  // answered and half-closed; reading what the peer still sends, then closing
    kClosed,
  };

  // A request being answered: what its answer and its log line need.
  struct InFlight {
    uint64_t serial = 0;
    std::string method;
    std::string path;
    std::string target;  // for the access log: redact_target(), never the credentials it carried
    std::string label = "other";
    std::string origin;
    std::string host;  // the Host header: whether Origin is the request's own (CorsPolicy)
    std::string remote;
    bool keep_alive = false;
    bool head_only = false;
    bool http10 = false;
    bool cors = true;
    Clock::time_point started;
  };

  // A head parsed and admitted, while its body arrives. Apart from Connection so that a stream,
  // which outlives its request, does not carry the request's room (thousands of idle streams).
  struct PendingRequest {
    HttpRequest head;
    const Route* route = nullptr;
    InFlight info;
    Clock::time_point body_started;
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
    bool read_paused = false;         // `in` holds as much as it may; the rest waits in the kernel
    bool peer_closing = false;        // an event said the peer shut its side (or hung up)
    bool peer_done = false;           // the peer shut its write side (or the socket failed)
    Clock::time_point last_progress;  // last byte read or written
    std::optional<Clock::time_point> head_started;  // first look at the head being read
    size_t head_scanned = 0;  // bytes of `in` the parser saw without finding a complete head
    std::unique_ptr<PendingRequest> pending;  // set from an admitted head until its body is read
    uint64_t next_serial = 0;
    std::unique_ptr<InFlight> waiting;  // an answer from another thread is awaited
    std::shared_ptr<StreamSource> source;
    bool replaying = false;       // the source is blocking: pulled on the pool
    bool pull_in_flight = false;  // a pool task is pulling from the source
    bool idle() const {
      return mode == Mode::kRequests && in.empty() && !pending && !waiting &&
             out_sent == out.size();
    }
  };

  // A message to the loop from another thread.
  struct Posted {
    enum class Kind { kAdopt, kReply, kPulled };
    Kind kind = Kind::kAdopt;
    uint64_t id = 0;
    uint64_t serial = 0;          // kReply: which request of the connection it answers
    HttpReply reply;              // kReply
    std::string data;             // kAdopt: the peer's address; kPulled: stream bytes
    bool ended = false;           // kPulled: the stream is over
    bool still_blocking = false;  // kPulled: pull on the pool again
    int fd = -1;                  // kAdopt: an accepted socket for this loop to own
  };

  // Why process_buffered() stopped.
  enum class Stop { kNeedInput, kWaiting, kUnsentCap, kClosing };

  void run();
  void accept_all();
  void adopt(int fd, std::string remote);
  void on_event(Connection& conn, uint32_t events);
  void read_input(Connection& conn);
  size_t input_cap(const Connection& conn) const;
  void advance(Connection& conn);
  Stop process_buffered(Connection& conn);
  void begin_request(Connection& conn, HttpRequest request);
  void dispatch(Connection& conn, HttpRequest request, const Route& route, const InFlight& info);
  HttpReply call_handler(const Route& route, HttpRequest& request);
  /// Runs `work` (a handler or the rest of one), turning an escaped exception or a later() into
  /// a JSON 500.
  HttpReply guarded(const Route& route, const std::function<HttpReply()>& work);
  /// Runs `work` on the pool and answers what it returns; 503 busy when the pool's queue is full.
  void run_on_pool(Connection& conn, const InFlight& info, const Route& route,
                   std::function<HttpReply()> work);
  void finish(Connection& conn, const InFlight& info, HttpReply reply);
  void refuse(Connection& conn, const InFlight* info, const ApiError& error, bool keep_alive,
              HeaderList headers = {});
  void queue_answer(Connection& conn, const InFlight& info, const HttpReply& reply,
                    bool keep_alive);
  void log_request(const InFlight& info, int status);
  /// Appends a reply's own headers (dropping, counting and logging any unsafe one) and, for a
  /// route open to browsers, the CORS headers for the request's Origin.
  void append_headers(const InFlight& info, const HeaderList& headers, std::string* out);
  void start_stream(Connection& conn, const InFlight& info, const HttpReply& reply);
  void pump_stream(Connection& conn);
  void schedule_pull(Connection& conn);
  void on_pulled(Posted& posted);
  void append_stream_bytes(Connection& conn, const std::string& bytes);
  void end_stream(Connection& conn);
  bool flush(Connection& conn);
  void close_connection(Connection& conn);
  bool process_wakeups();
  void tick(Clock::time_point now);
  void close_oldest_idle(std::vector<Connection*>& idle);
  void post(Posted posted);
  void signal_loop();
  void shutdown_connections();
  Connection* find(uint64_t id);
  void set_accepting(bool accepting);
  InFlight describe(const Connection& conn, const HttpRequest& request, const Router::Match& match);

  Shared& shared_;
  const Options& options_;
  const size_t index_;
  const std::vector<std::unique_ptr<Loop>>& loops_;
  std::shared_ptr<Mailbox> mailbox_;

  int listen_fd_ = -1;
  int epoll_fd_ = -1;
  int wake_fd_ = -1;
  std::thread thread_;
  std::atomic<bool> stopping_{false};

  // Loop thread only.
  Clock::time_point turn_started_ = Clock::now();  // when this turn of the loop began
  std::unordered_map<uint64_t, std::unique_ptr<Connection>> connections_;
  std::vector<uint64_t> closed_ids_;
  uint64_t next_serial_ = kFirstConnectionId;
  size_t next_loop_ = 0;  // loop 0: where the next accepted connection goes
  bool accepting_ = true;
  // Woken connections not yet served, oldest first, from ready_next_ on.
  std::vector<uint64_t> ready_backlog_;
  size_t ready_next_ = 0;
  std::vector<Posted> posted_batch_;
  // Access-log lines of this turn, written at its end in one write.
  std::string access_log_;
  // The request metrics of each method, route and status seen, so recording one is a lookup.
  std::unordered_map<std::string, std::pair<Counter*, Histogram*>> request_metrics_;

  std::mutex wake_mutex_;
  std::vector<uint64_t> ready_;  // guarded by wake_mutex_
  std::vector<Posted> posted_;   // guarded by wake_mutex_
};

// One loop's inbox for answers and replay pages coming from other threads. It outlives the loop
// (Responders and pool tasks hold it); once closed, what arrives is dropped.
class HttpServer::Loop::Mailbox final : public detail::ReplySink {
 public:
  explicit Mailbox(Loop* loop) : loop_(loop) {}
  void deliver(uint64_t connection_id, uint64_t request_serial, HttpReply reply) override {
    std::lock_guard lock(mutex_);
    if (loop_ == nullptr) return;
    Posted posted;
    posted.kind = Posted::Kind::kReply;
    posted.id = connection_id;
    posted.serial = request_serial;
    posted.reply = std::move(reply);
    loop_->post(std::move(posted));
  }
  void pulled(uint64_t connection_id, std::optional<std::string> chunk, bool still_blocking) {
    std::lock_guard lock(mutex_);
    if (loop_ == nullptr) return;
    Posted posted;
    posted.kind = Posted::Kind::kPulled;
    posted.id = connection_id;
    posted.ended = !chunk.has_value();
    if (chunk) posted.data = std::move(*chunk);
    posted.still_blocking = still_blocking;
    loop_->post(std::move(posted));
  }
  void close() {
    std::lock_guard lock(mutex_);
    loop_ = nullptr;
  }

 private:
  std::mutex mutex_;
  Loop* loop_;  // guarded by mutex_
};

// ---- setup and teardown ----

HttpServer::Loop::Loop(Shared& shared, size_t index,
                       const std::vector<std::unique_ptr<Loop>>& loops)
    : shared_(shared),
      options_(shared.options),
      index_(index),
      loops_(loops),
      mailbox_(std::make_shared<Mailbox>(this)) {
  // The descriptors exist before any loop runs: loop 0 may hand a connection to this loop (and
  // signal it) before this loop's start() was called.
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  epoll_event wake_event{};
  wake_event.events = EPOLLIN;
  wake_event.data.u64 = kWakeTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, wake_fd_, &wake_event);
}

HttpServer::Loop::~Loop() {
  close_mailbox();
  stop();
  if (wake_fd_ >= 0) ::close(wake_fd_);
  if (epoll_fd_ >= 0) ::close(epoll_fd_);
}

void HttpServer::Loop::start(int listen_fd) {
  listen_fd_ = listen_fd;
  if (listen_fd_ >= 0) {
    epoll_event listen_event{};
    listen_event.events = EPOLLIN;
    listen_event.data.u64 = kListenTag;
    epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, listen_fd_, &listen_event);
  }
  thread_ = std::thread([this] { run(); });
}

void HttpServer::Loop::stop() {
  if (!thread_.joinable()) return;
  stopping_ = true;
  signal_loop();
  thread_.join();
}

void HttpServer::Loop::close_mailbox() {
  mailbox_->close();
}

void HttpServer::Loop::shutdown_connections() {
  for (auto& [id, conn] : connections_) {
    if (conn->mode == Mode::kClosed) continue;
    if (conn->mode == Mode::kStreaming && conn->chunked && !conn->close_after_write) {
      // Best effort: a reader that keeps up sees the stream end cleanly.
      conn->out.append("0\r\n\r\n");
      flush(*conn);
    }
    if (conn->mode != Mode::kClosed) close_connection(*conn);
  }
  connections_.clear();
  std::lock_guard lock(wake_mutex_);
  for (const auto& posted : posted_) {
    if (posted.kind == Posted::Kind::kAdopt) {
      ::close(posted.fd);
      shared_.open_connections.fetch_sub(1);
    }
  }
  posted_.clear();
}

// ---- the loop ----

void HttpServer::Loop::run() {
  std::vector<epoll_event> events(1024);
  auto next_tick = Clock::now() + kTick;
  bool pending = false;
  while (!stopping_) {
    auto wait = std::chrono::ceil<std::chrono::milliseconds>(next_tick - Clock::now());
    if (pending) wait = std::chrono::milliseconds(0);
    int count = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                           static_cast<int>(std::max<int64_t>(wait.count(), 0)));
    shared_.loop_turns->add();
    turn_started_ = Clock::now();
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
    pending = process_wakeups();
    auto now = Clock::now();
    if (now >= next_tick) {
      tick(now);
      next_tick = now + kTick;
    }
    for (uint64_t id : closed_ids_) connections_.erase(id);
    closed_ids_.clear();
    if (!access_log_.empty()) {
      options_.logger->write_lines(access_log_);
      access_log_.clear();
    }
  }
  shutdown_connections();
  options_.logger->write_lines(access_log_);
}

HttpServer::Loop::Connection* HttpServer::Loop::find(uint64_t id) {
  auto it = connections_.find(id);
  if (it == connections_.end() || it->second->mode == Mode::kClosed) return nullptr;
  return it->second.get();
}

void HttpServer::Loop::set_accepting(bool accepting) {
  if (accepting_ == accepting || listen_fd_ < 0) return;
  accepting_ = accepting;
  epoll_event event{};
  event.events = accepting ? static_cast<uint32_t>(EPOLLIN) : 0u;
  event.data.u64 = kListenTag;
  epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, listen_fd_, &event);
}

void HttpServer::Loop::accept_all() {
  static const std::string kRefusal = too_many_connections_answer();
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
                                                {"connections", shared_.open_connections.load()}});
        set_accepting(false);
      }
      return;
    }
    if (shared_.open_connections.load() >= options_.limits.max_connections) {
      // Refused early: one short answer the kernel buffers at once, then close.
      [[maybe_unused]] auto sent = ::send(fd, kRefusal.data(), kRefusal.size(), MSG_NOSIGNAL);
      ::close(fd);
      shared_.refused_connections->add();
      continue;
    }
    shared_.open_connections.fetch_add(1);
    int yes = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    Loop& owner = *loops_[next_loop_++ % loops_.size()];
    if (&owner == this) {
      adopt(fd, peer_address(address));
    } else {
      Posted posted;
      posted.kind = Posted::Kind::kAdopt;
      posted.data = peer_address(address);
      posted.fd = fd;
      owner.post(std::move(posted));
    }
  }
}

void HttpServer::Loop::adopt(int fd, std::string remote) {
  if (stopping_) {
    ::close(fd);
    shared_.open_connections.fetch_sub(1);
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
    shared_.open_connections.fetch_sub(1);
    return;
  }
  connections_.emplace(conn->id, std::move(conn));
}

void HttpServer::Loop::on_event(Connection& conn, uint32_t events) {
  if (events & EPOLLERR) {
    close_connection(conn);
    return;
  }
  if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP)) {
    if (events & (EPOLLRDHUP | EPOLLHUP)) conn.peer_closing = true;
    read_input(conn);
    if (conn.mode == Mode::kClosed) return;
  }
  if ((events & EPOLLOUT) && !flush(conn)) return;
  advance(conn);
}

size_t HttpServer::Loop::input_cap(const Connection& conn) const {
  // The head limit, or a body the route admitted, plus room for what is pipelined behind it.
  size_t head = options_.limits.request.max_head_bytes;
  size_t body = conn.pending ? conn.pending->head.content_length : 0;
  return std::max<size_t>(body + head, 2 * head);
}

void HttpServer::Loop::read_input(Connection& conn) {
  char buffer[16 * 1024];
  while (true) {
    if (conn.mode == Mode::kRequests && conn.in.size() >= input_cap(conn)) {
      conn.read_paused = true;
      return;
    }
    ssize_t got = ::recv(conn.fd, buffer, sizeof(buffer), 0);
    if (got > 0) {
      conn.last_progress = Clock::now();
      // A stream's reader has nothing to say; a lingering close only drains.
      if (conn.mode == Mode::kRequests) conn.in.append(buffer, static_cast<size_t>(got));
      if (static_cast<size_t>(got) < sizeof(buffer) && !conn.peer_closing) {
        // Less than asked for: the kernel held no more just now, and whatever arrives later
        // raises a new edge, so the read that would only say EAGAIN is saved (one syscall per
        // request). Once the peer's end was signalled, read on until it is seen.
        conn.read_paused = false;
        return;
      }
      continue;
    }
    if (got < 0 && errno == EINTR) continue;
    if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      // The kernel holds nothing more: the next edge says when it does. (Left set, a paused
      // connection would be read again on every round of `advance`, a busy loop.)
      conn.read_paused = false;
      return;
    }
    break;  // end of input, or an error
  }
  conn.read_paused = false;
  if (conn.mode != Mode::kRequests) {
    // A stream reader never half-closes: it is gone. A lingering peer is done.
    close_connection(conn);
    return;
  }
  conn.peer_done = true;
}

// ---- requests ----

void HttpServer::Loop::advance(Connection& conn) {
  for (int round = 0;; ++round) {
    if (conn.mode == Mode::kStreaming) {
      if (conn.out_sent == conn.out.size()) {
        if (conn.replaying) {
          schedule_pull(conn);
        } else {
          pump_stream(conn);
        }
      }
      return;
    }
    if (conn.mode != Mode::kRequests) return;
    Stop stop = process_buffered(conn);
    if (!flush(conn)) return;                    // closed, or answered and lingering
    if (conn.mode != Mode::kRequests) continue;  // a stream started: write it
    if (stop == Stop::kWaiting || stop == Stop::kClosing) return;
    if (conn.out_sent < conn.out.size()) return;  // EPOLLOUT resumes
    if (conn.read_paused) {
      read_input(conn);  // edge-triggered: nothing else would say the kernel still holds bytes
      if (conn.mode == Mode::kClosed) return;
      if (round < kRoundsPerTurn) continue;
    } else if (stop == Stop::kUnsentCap && round < kRoundsPerTurn) {
      continue;
    } else if (stop == Stop::kNeedInput) {
      break;
    }
    if (round >= kRoundsPerTurn) {
      wake(conn.id);  // more to do: come back after the other connections had their turn
      return;
    }
  }
  if (conn.peer_done && conn.mode == Mode::kRequests && !conn.waiting) {
    // The peer sent all it will and everything complete was answered: close once written.
    conn.close_after_write = true;
    flush(conn);
  }
}

HttpServer::Loop::Stop HttpServer::Loop::process_buffered(Connection& conn) {
  Stop stop = Stop::kNeedInput;
  while (true) {
    if (conn.mode != Mode::kRequests || conn.close_after_write) {
      stop = Stop::kClosing;
      break;
    }
    if (conn.waiting) {
      stop = Stop::kWaiting;
      break;
    }
    if (conn.out.size() - conn.out_sent >= kMaxUnsentAnswers) {
      stop = Stop::kUnsentCap;
      break;
    }
    if (!conn.pending) {
      if (conn.in.empty()) break;
      // A head is only complete (or newly wrong) once a line ends or the size limit is passed:
      // bytes dripping in without a line end are not parsed again, so a slow head costs
      // O(lines x size) rather than a parse per byte.
      if (conn.head_scanned > 0 && conn.in.size() <= options_.limits.request.max_head_bytes &&
          conn.in.find_first_of("\r\n", conn.head_scanned) == std::string::npos) {
        conn.head_scanned = conn.in.size();
        break;
      }
      HttpRequest request;
      request.remote_addr = conn.remote;
      request.connection_id = conn.id;
      auto result = parse_request_head(conn.in, options_.limits.request, &request);
      if (result.state == HttpHeadResult::State::kIncomplete) {
        if (!conn.head_started) conn.head_started = Clock::now();
        conn.head_scanned = conn.in.size();
        break;
      }
      conn.head_scanned = 0;
      if (result.state == HttpHeadResult::State::kError) {
        conn.in.clear();
        refuse(conn, nullptr, result.error, false);
        continue;
      }
      conn.in.erase(0, result.head_bytes);
      conn.head_started.reset();
      if (!options_.trusted_proxies.empty()) {
        request.remote_addr = client_address(conn.remote, options_.trusted_proxies, request);
      }
      begin_request(conn, std::move(request));
      continue;
    }
    size_t need = conn.pending->head.content_length;
    if (conn.in.size() < need) {
      if (conn.pending->head.expects_continue && !conn.sent_continue) {
        conn.out.append("HTTP/1.1 100 Continue\r\n\r\n");
        conn.sent_continue = true;
      }
      break;
    }
    std::unique_ptr<PendingRequest> pending = std::move(conn.pending);
    conn.sent_continue = false;
    pending->head.body.assign(conn.in, 0, need);
    conn.in.erase(0, need);
    dispatch(conn, std::move(pending->head), *pending->route, pending->info);
  }
  if (conn.in.empty() && conn.in.capacity() > kKeptBufferCapacity) std::string().swap(conn.in);
  return stop;
}

HttpServer::Loop::InFlight HttpServer::Loop::describe(const Connection& conn,
                                                      const HttpRequest& request,
                                                      const Router::Match& match) {
  InFlight info;
  info.method = request.method;
  info.path = request.path;
  info.target = redact_target(request.target);
  info.label = match.label;
  info.origin = request.header("origin");
  info.host = request.header("host");
  info.remote = conn.remote;
  info.keep_alive = request.keep_alive && !stopping_;
  info.head_only = request.method == "HEAD";
  info.http10 = request.http10;
  info.cors = match.cors;
  info.started = Clock::now();
  return info;
}

void HttpServer::Loop::begin_request(Connection& conn, HttpRequest request) {
  Router::Match match = options_.router->match(request.method, request.path);
  InFlight info = describe(conn, request, match);
  info.serial = ++conn.next_serial;
  // An answer given before the body was read keeps the connection only when there is no body
  // to skip.
  bool has_body = request.content_length > 0;
  bool keep = info.keep_alive && !has_body;

  if (request.method == "OPTIONS") {
    if (match.allowed_methods.empty()) {
      refuse(conn, &info, {404, "not_found", "no route for OPTIONS " + request.path}, keep);
    } else if (!match.cors) {
      info.cors = false;
      refuse(conn, &info, {403, "forbidden", request.path + " is not for browsers"}, keep);
    } else {
      HttpReply reply;
      reply.status = 204;
      reply.headers = options_.cors.preflight(match.allowed_methods, info.origin, info.host);
      info.keep_alive = keep;
      finish(conn, info, std::move(reply));
    }
    return;
  }
  if (match.route == nullptr) {
    if (match.allowed_methods.empty() && options_.static_files != nullptr && !has_body &&
        (request.method == "GET" || request.method == "HEAD")) {
      if (auto file = options_.static_files->serve(request)) {
        info.label = "static";
        info.keep_alive = keep;
        finish(conn, info, std::move(*file));
        return;
      }
    }
    if (match.allowed_methods.empty()) {
      refuse(conn, &info, {404, "not_found", "no route for " + request.method + " " + request.path},
             keep);
    } else {
      std::string allowed = join_methods(match.allowed_methods);
      refuse(conn, &info,
             {405, "method_not_allowed",
              request.method + " is not allowed on " + request.path + "; allowed: " + allowed},
             keep, {{"Allow", allowed}});
    }
    return;
  }
  const Route& route = *match.route;
  std::string encoding = request.header("content-encoding");
  if (!encoding.empty() && !equals_ignoring_case(encoding, "identity")) {
    refuse(conn, &info,
           {415, "unsupported_encoding",
            "Content-Encoding \"" + encoding + "\" is not accepted; send the body uncompressed"},
           false);
    return;
  }
  if (has_body && route.max_body_bytes == 0) {
    refuse(conn, &info,
           {400, "body_not_allowed", request.method + " " + route.pattern + " takes no body"},
           false);
    return;
  }
  if (request.content_length > route.max_body_bytes) {
    refuse(conn, &info, payload_too_large_error(route.max_body_bytes), false);
    return;
  }
  if (route.max_body_bytes > 0 && !request.has_header("content-length")) {
    refuse(conn, &info,
           {411, "length_required", "send the request body with a Content-Length header"}, false);
    return;
  }
  if (route.check_head) {
    std::optional<HttpReply> refused;
    try {
      refused = route.check_head(request);
    } catch (const std::exception& e) {
      options_.logger->error("unhandled exception", {{"path", request.path}, {"what", e.what()}});
      refused =
          HttpReply::error({500, "internal_error", "the server failed to check this request"});
    }
    if (refused) {
      info.keep_alive = keep;
      finish(conn, info, std::move(*refused));
      return;
    }
  }
  request.path_params = std::move(match.path_params);
  conn.pending = std::make_unique<PendingRequest>(
      PendingRequest{std::move(request), &route, std::move(info), Clock::now()});
}

HttpReply HttpServer::Loop::call_handler(const Route& route, HttpRequest& request) {
  return guarded(route, [&] { return route.handler(request); });
}

HttpReply HttpServer::Loop::guarded(const Route& route, const std::function<HttpReply()>& work) {
  try {
    HttpReply reply = work();
    if (!reply.deferred) return reply;
    options_.logger->error("a synchronous route answered later()", {{"route", route.pattern}});
  } catch (const std::exception& e) {
    options_.logger->error("unhandled exception", {{"route", route.pattern}, {"what", e.what()}});
  } catch (...) {
    options_.logger->error("unhandled exception", {{"route", route.pattern}});
  }
  return HttpReply::error({500, "internal_error", "the server failed to handle this request"});
}

void HttpServer::Loop::dispatch(Connection& conn, HttpRequest request, const Route& route,
                                const InFlight& info) {
  if (route.async_handler) {
    conn.waiting = std::make_unique<InFlight>(info);
    Responder responder(mailbox_, conn.id, info.serial);
    try {
      route.async_handler(request, responder);
    } catch (const std::exception& e) {
      options_.logger->error("unhandled exception", {{"path", request.path}, {"what", e.what()}});
      responder.send(
          HttpReply::error({500, "internal_error", "the server failed to handle this request"}));
    }
    return;  // the answer arrives through the mailbox, perhaps already posted
  }
  if (route.blocking) {
    run_on_pool(conn, info, route, [this, &route, request = std::move(request)]() mutable {
      HttpReply reply = call_handler(route, request);
      // Already on a worker: the rest runs here.
      if (reply.rest_on_pool) reply = guarded(route, std::exchange(reply.rest_on_pool, {}));
      return reply;
    });
    return;
  }
  HttpReply reply = call_handler(route, request);
  if (reply.rest_on_pool) {
    run_on_pool(conn, info, route, [this, &route, rest = std::move(reply.rest_on_pool)] {
      return guarded(route, rest);
    });
    return;
  }
  finish(conn, info, std::move(reply));
}

void HttpServer::Loop::run_on_pool(Connection& conn, const InFlight& info, const Route& route,
                                   std::function<HttpReply()> work) {
  conn.waiting = std::make_unique<InFlight>(info);
  Responder responder(mailbox_, conn.id, info.serial);
  bool queued = shared_.pool->submit([this, &route, work = std::move(work), responder] {
    HttpReply reply = work();
    if (reply.rest_on_pool) {
      options_.logger->error("a route's rest on the pool answered on_pool() again",
                             {{"route", route.pattern}});
      reply = HttpReply::error({500, "internal_error", "the server failed to handle this request"});
    }
    responder.send(std::move(reply));
  });
  if (!queued) {
    conn.waiting.reset();
    HttpReply busy = HttpReply::error(
        {503, "busy", "the server has too much blocking work queued; retry shortly"});
    busy.headers.emplace_back("Retry-After", "1");
    finish(conn, info, std::move(busy));
  }
}

void HttpServer::Loop::finish(Connection& conn, const InFlight& info, HttpReply reply) {
  conn.waiting.reset();
  if (reply.stream) {
    start_stream(conn, info, reply);
    log_request(info, 200);  // a stream is logged (and counted) when it starts
    return;
  }
  if (reply.deferred) {
    reply = HttpReply::error({500, "internal_error", "the server failed to handle this request"});
  }
  queue_answer(conn, info, reply, info.keep_alive && !stopping_);
  log_request(info, reply.status);
}

void HttpServer::Loop::refuse(Connection& conn, const InFlight* info, const ApiError& error,
                              bool keep_alive, HeaderList headers) {
  InFlight unknown;
  unknown.method = "-";
  unknown.path = "-";
  unknown.target = "-";
  unknown.remote = conn.remote;
  unknown.started = Clock::now();
  InFlight answered = info != nullptr ? *info : unknown;
  answered.keep_alive = keep_alive;
  HttpReply reply = HttpReply::error(error);
  reply.headers = std::move(headers);
  if (info == nullptr) shared_.refused_requests->add();
  finish(conn, answered, std::move(reply));
}

void HttpServer::Loop::log_request(const InFlight& info, int status) {
  double seconds = std::chrono::duration<double>(Clock::now() - info.started).count();
  const std::string& method = info.method == "-" ? std::string("other") : info.method;
  std::string key = fmt::format("{} {} {}", method, info.label, status);
  auto found = request_metrics_.find(key);
  if (found == request_metrics_.end()) {
    auto& metrics = *options_.metrics;
    Labels labels = {{"method", method}, {"route", info.label}, {"status", std::to_string(status)}};
    auto* counter = &metrics.counter(
        "http_requests_total", "HTTP requests answered, by method, route and status.", labels);
    auto* histogram = &metrics.histogram(
        "http_request_duration_seconds",
        "Time from reading a request to writing its response, by method, route and status.",
        labels);
    found = request_metrics_.emplace(std::move(key), std::make_pair(counter, histogram)).first;
  }
  found->second.first->add();
  found->second.second->observe(seconds);
  if (info.path == "/health" || info.path == "/metrics") return;
  access_log_ += options_.logger->format("info", "request",
                                         {{"method", info.method},
                                          {"target", info.target},
                                          {"status", status},
                                          {"duration_ms", seconds * 1000.0},
                                          {"remote", info.remote}});
}

void HttpServer::Loop::queue_answer(Connection& conn, const InFlight& info, const HttpReply& reply,
                                    bool keep_alive) {
  std::string& out = conn.out;
  out.append(fmt::format("HTTP/1.1 {} {}\r\n", reply.status, reason_phrase(reply.status)));
  bool bodiless = reply.status == 204 || reply.status == 304;
  if (!bodiless) {
    out.append(fmt::format("Content-Type: {}\r\nContent-Length: {}\r\n", reply.content_type,
                           reply.body.size()));
  }
  append_headers(info, reply.headers, &out);
  out.append(keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n");
  if (!info.head_only && !bodiless) out.append(reply.body);
  if (!keep_alive) conn.close_after_write = true;
}

void HttpServer::Loop::append_headers(const InFlight& info, const HeaderList& headers,
                                      std::string* out) {
  for (const auto& [name, value] : headers) {
    if (!is_http_token(name) || !is_safe_header_value(value)) {
      shared_.dropped_headers->add();
      options_.logger->warn("unsafe response header dropped", {{"name", name}});
      continue;
    }
    out->append(name).append(": ").append(value).append("\r\n");
  }
  if (!info.cors) return;
  for (const auto& [name, value] : options_.cors.headers(info.origin, info.host)) {
    if (is_safe_header_value(value)) out->append(name).append(": ").append(value).append("\r\n");
  }
}

// ---- streams ----

void HttpServer::Loop::start_stream(Connection& conn, const InFlight& info,
                                    const HttpReply& reply) {
  conn.mode = Mode::kStreaming;
  conn.source = reply.stream;
  conn.chunked = !info.http10;
  std::string& out = conn.out;
  out.append("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n");
  append_headers(info, reply.headers, &out);
  out.append(conn.chunked ? "Transfer-Encoding: chunked\r\n\r\n" : "Connection: close\r\n\r\n");
  std::string().swap(conn.in);
  conn.pending.reset();
  conn.replaying = conn.source->blocking();
}

void HttpServer::Loop::append_stream_bytes(Connection& conn, const std::string& bytes) {
  if (conn.chunked) {
    char size_line[24];
    auto end = fmt::format_to_n(size_line, sizeof size_line, "{:x}\r\n", bytes.size()).out;
    size_t line_length = static_cast<size_t>(end - size_line);
    conn.out.reserve(conn.out.size() + line_length + bytes.size() + 2);  // one allocation at most
    conn.out.append(size_line, line_length).append(bytes).append("\r\n");
  } else {
    conn.out.append(bytes);
  }
}

void HttpServer::Loop::pump_stream(Connection& conn) {
  // Takes everything the source has while the socket keeps accepting it.
  while (conn.mode == Mode::kStreaming && !conn.replaying && conn.out_sent == conn.out.size()) {
    auto chunk = conn.source->pull();
    if (!chunk) {
      end_stream(conn);
      return;
    }
    if (chunk->empty()) return;
    append_stream_bytes(conn, *chunk);
    if (!flush(conn)) return;
  }
}

void HttpServer::Loop::schedule_pull(Connection& conn) {
  if (conn.pull_in_flight || !conn.replaying || conn.mode != Mode::kStreaming) return;
  conn.pull_in_flight = true;
  bool queued = shared_.pool->submit(
      [mailbox = mailbox_, source = conn.source, id = conn.id] {
        auto chunk = source->pull();
        bool still_blocking = chunk.has_value() && source->blocking();
        mailbox->pulled(id, std::move(chunk), still_blocking);
      },
      WorkerPool::Priority::kBackground);
  if (!queued) conn.pull_in_flight = false;  // the next tick tries again
}

void HttpServer::Loop::on_pulled(Posted& posted) {
  Connection* conn = find(posted.id);
  if (conn == nullptr || conn->mode != Mode::kStreaming) return;
  conn->pull_in_flight = false;
  if (posted.ended) {
    end_stream(*conn);
    return;
  }
  if (!posted.data.empty()) append_stream_bytes(*conn, posted.data);
  if (!posted.still_blocking) conn->replaying = false;
  if (!flush(*conn)) return;
  advance(*conn);
}

void HttpServer::Loop::end_stream(Connection& conn) {
  if (conn.chunked) conn.out.append("0\r\n\r\n");
  conn.close_after_write = true;
  flush(conn);
}

bool HttpServer::Loop::flush(Connection& conn) {
  if (conn.mode == Mode::kClosed) return false;
  while (conn.out_sent < conn.out.size()) {
    ssize_t sent = ::send(conn.fd, conn.out.data() + conn.out_sent, conn.out.size() - conn.out_sent,
                          MSG_NOSIGNAL);
    if (sent > 0) {
      conn.out_sent += static_cast<size_t>(sent);
      conn.last_progress = turn_started_;  // a clock read per send is a real part of its cost
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
  if (conn.close_after_write) {
    if (conn.mode == Mode::kRequests) {
      // Lingering close: the peer may still be sending a body we refused; reading it for a moment
      // lets our answer arrive instead of a reset.
      ::shutdown(conn.fd, SHUT_WR);
      conn.mode = Mode::kLingering;
      conn.close_after_write = false;
      conn.last_progress = Clock::now();
      std::string().swap(conn.in);
      if (conn.peer_done) close_connection(conn);
      return false;
    }
    close_connection(conn);
    return false;
  }
  return true;
}

void HttpServer::Loop::close_connection(Connection& conn) {
  if (conn.mode == Mode::kClosed) return;
  conn.mode = Mode::kClosed;
  ::close(conn.fd);  // also removes it from the epoll set
  conn.fd = -1;
  shared_.open_connections.fetch_sub(1);
  if (conn.source) conn.source->closed();
  closed_ids_.push_back(conn.id);
}

// ---- wake-ups and ticks ----

void HttpServer::Loop::wake(uint64_t id) {
  bool first;
  {
    std::lock_guard lock(wake_mutex_);
    first = ready_.empty() && posted_.empty();
    ready_.push_back(id);
  }
  if (first) signal_loop();  // later ones find the loop already signalled
}

void HttpServer::Loop::post(Posted posted) {
  bool first;
  {
    std::lock_guard lock(wake_mutex_);
    first = ready_.empty() && posted_.empty();
    posted_.push_back(std::move(posted));
  }
  if (first) signal_loop();
}

void HttpServer::Loop::signal_loop() {
  uint64_t one = 1;
  [[maybe_unused]] auto written = ::write(wake_fd_, &one, sizeof(one));
}

bool HttpServer::Loop::process_wakeups() {
  posted_batch_.clear();
  {
    std::lock_guard lock(wake_mutex_);
    ready_backlog_.insert(ready_backlog_.end(), ready_.begin(), ready_.end());
    ready_.clear();
    posted_batch_.swap(posted_);
  }
  for (auto& posted : posted_batch_) {
    switch (posted.kind) {
      case Posted::Kind::kAdopt:
        adopt(posted.fd, std::move(posted.data));
        break;
      case Posted::Kind::kPulled:
        on_pulled(posted);
        break;
      case Posted::Kind::kReply: {
        Connection* conn = find(posted.id);
        if (conn == nullptr || !conn->waiting || conn->waiting->serial != posted.serial) break;
        InFlight info = *conn->waiting;
        finish(*conn, info, std::move(posted.reply));
        advance(*conn);
        break;
      }
    }
  }
  for (size_t budget = kStreamsPerTurn; budget > 0 && ready_next_ < ready_backlog_.size();
       --budget) {
    Connection* conn = find(ready_backlog_[ready_next_++]);
    if (conn == nullptr) continue;
    if (conn->mode == Mode::kRequests) {
      advance(*conn);
    } else if (conn->mode == Mode::kStreaming && !conn->replaying) {
      if (conn->out_sent == conn->out.size()) {
        pump_stream(*conn);
      } else if (conn->source->cut()) {
        close_connection(*conn);  // cut for its backlog: what it has not read is dropped
      }
    }
  }
  if (ready_next_ < ready_backlog_.size()) return true;
  ready_backlog_.clear();
  ready_next_ = 0;
  if (ready_backlog_.capacity() > 65536) std::vector<uint64_t>().swap(ready_backlog_);
  return false;
}

void HttpServer::Loop::tick(Clock::time_point now) {
  set_accepting(true);
  const auto& limits = options_.limits;
  std::vector<Connection*> idle;
  for (auto& [id, conn_ptr] : connections_) {
    Connection& conn = *conn_ptr;
    auto quiet = now - conn.last_progress;
    switch (conn.mode) {
      case Mode::kClosed:
        break;
      case Mode::kRequests:
        if (conn.out_sent < conn.out.size()) {
          if (quiet > limits.stalled_write_timeout) close_connection(conn);
        } else if (conn.waiting) {
          // The route answers; a Responder always does, at worst with a 500.
        } else if (conn.pending) {
          if (now - conn.pending->body_started > limits.body_timeout) {
            InFlight info = conn.pending->info;
            refuse(conn, &info,
                   {408, "request_timeout",
                    "the request body did not arrive within the request body timeout"},
                   false);
            flush(conn);
          }
        } else if (conn.head_started) {
          if (now - *conn.head_started > limits.header_timeout) {
            refuse(conn, nullptr,
                   {408, "request_timeout",
                    "the request head did not arrive within the request header timeout"},
                   false);
            flush(conn);
          }
        } else if (conn.idle()) {
          if (quiet > limits.keep_alive_timeout) {
            close_connection(conn);
          } else {
            idle.push_back(&conn);
          }
        }
        break;
      case Mode::kLingering:
        if (quiet > kLingerTime) close_connection(conn);
        break;
      case Mode::kStreaming:
        if (conn.replaying) {
          if (conn.out_sent == conn.out.size()) schedule_pull(conn);
          break;
        }
        if (conn.out_sent == conn.out.size()) {
          // A heartbeat can only be due on a stream that wrote nothing for a second (the
          // shortest heartbeat); busy streams are left to their wake-ups.
          if (quiet >= std::chrono::seconds(1)) pump_stream(conn);
        } else if (conn.source->cut() || quiet > limits.stalled_write_timeout) {
          close_connection(conn);
        }
        break;
    }
  }
  close_oldest_idle(idle);
}

void HttpServer::Loop::close_oldest_idle(std::vector<Connection*>& idle) {
  // Idle keep-alive connections past the cap close, oldest first, across all loops: each loop
  // publishes when its idle connections went quiet and closes its own that are older than the
  // cap-th newest of all of them.
  const size_t cap = options_.limits.max_idle_connections;
  std::optional<Clock::time_point> threshold;
  {
    std::lock_guard lock(shared_.idle_mutex);
    auto& mine = shared_.idle_since[index_];
    mine.clear();
    for (const Connection* conn : idle) mine.push_back(conn->last_progress);
    std::vector<Clock::time_point> all;
    for (const auto& times : shared_.idle_since) all.insert(all.end(), times.begin(), times.end());
    if (all.size() > cap && cap == 0) {
      threshold = Clock::time_point::max();  // none may stay
    } else if (all.size() > cap) {
      std::nth_element(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(cap - 1), all.end(),
                       std::greater<>());
      threshold = all[cap - 1];
    }
  }
  if (!threshold) return;
  for (Connection* conn : idle) {
    if (conn->last_progress < *threshold) close_connection(*conn);
  }
}

// ---- HttpServer ----

HttpServer::HttpServer(Options options) : shared_(std::make_shared<Shared>(std::move(options))) {
  auto& metrics = *shared_->options.metrics;
  shared_->refused_connections =
      &metrics.counter("relay_http_connections_refused_total",
                       "Connections refused at once because MAX_CONNECTIONS were open.");
  shared_->refused_requests = &metrics.counter(
      "relay_http_requests_refused_total", "Requests refused before routing (malformed heads).");
  shared_->dropped_headers =
      &metrics.counter("relay_http_unsafe_headers_dropped_total",
                       "Response headers not sent because their value held control bytes.");
  shared_->loop_turns =
      &metrics.counter("relay_http_loop_turns_total",
                       "Event-loop turns, all loops: each wait for events that returned. An idle "
                       "server makes a few per second; a busy loop shows here.");
  metrics.gauge("relay_http_connections", "Open HTTP connections.", [shared = shared_.get()] {
    return static_cast<double>(shared->open_connections.load());
  });
}

HttpServer::~HttpServer() {
  stop();
}

int HttpServer::start(const std::string& host, int port, const std::function<void(int)>& on_bound) {
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

  if (on_bound) on_bound(bound_port);
  const auto& options = shared_->options;
  shared_->pool = std::make_unique<WorkerPool>(std::max<size_t>(options.worker_threads, 1),
                                               std::max<size_t>(options.max_queued_work, 1));
  size_t count = std::clamp<size_t>(options.loop_threads, 1, kMaxLoops);
  shared_->idle_since.assign(count, {});
  for (size_t i = 0; i < count; ++i) loops_.push_back(std::make_unique<Loop>(*shared_, i, loops_));
  for (size_t i = 0; i < count; ++i) loops_[i]->start(i == 0 ? listen_fd_ : -1);
  return bound_port;
}

void HttpServer::stop() {
  // Answers and replay pages still on their way are dropped from here on; then the loops close
  // their connections; then the pool finishes what was queued (its results go nowhere).
  for (auto& loop : loops_) loop->close_mailbox();
  for (auto& loop : loops_) loop->stop();
  if (shared_->pool) shared_->pool->stop();
  loops_.clear();
  if (listen_fd_ >= 0) ::close(listen_fd_);
  listen_fd_ = -1;
}

void HttpServer::wake(uint64_t connection_id) {
  size_t loop = Loop::loop_of(connection_id);
  if (loop < loops_.size()) loops_[loop]->wake(connection_id);
}

}  // namespace relay
