#include "bench/load/publisher.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <optional>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "bench/load/load_stamp.h"
#include "tests/support/chunked_decoder.h"
#include "tests/support/response_head.h"

namespace relay::load {

namespace {

constexpr int64_t kAnswerTimeoutNs = 10'000'000'000;  // a POST without its answer by then failed
constexpr int64_t kReconnectDelayNs = 100'000'000;    // after a failed connection
constexpr int kMaxWaitMs = 50;                        // so stop() is seen promptly
constexpr size_t kMaxAnswerHeadBytes = 64 * 1024;

}  // namespace

// One keep-alive connection of the publisher, with at most one POST in flight.
struct Publisher::Connection {
  int fd = -1;
  bool connected = false;   // the non-blocking connect completed
  int64_t retry_at_ns = 0;  // closed after a failure: open again from then
  bool busy = false;        // a POST is in flight
  Batch batch;
  int64_t start_ns = 0;
  std::string out;  // the request, sent from out_sent on
  size_t out_sent = 0;
  std::string in;  // answer bytes not yet consumed
  std::optional<testing::ResponseHead> head;
  testing::ChunkedDecoder decoder{testing::ChunkedDecoder::LineEnds::kCrlfOrLf};
  std::string chunked_body;  // decoded and dropped
};

Publisher::Publisher(const LoadOptions& options, int64_t base_id)
    : options_(options), base_id_(base_id) {
  bool notify = options_.path == PublishPath::kNotify;
  bool nchan = options_.path == PublishPath::kNchan;
  port_ = notify ? options_.notify_port : (nchan ? options_.nchan_pub_port : options_.message_port);
  target_ = notify ? "/notify" : (nchan ? options_.nchan_pub_path : "/messages");
}

void Publisher::start() {
  schedule_start_ns_ = monotonic_ns();
  running_ = 1;
  thread_ = std::thread([this] { run(); });
}

PublishStats Publisher::stats() const {
  std::lock_guard lock(stats_mutex_);
  PublishStats stats = stats_;
  stats.post_p50_ms = static_cast<double>(post_latency_.percentile_ns(0.50)) / 1e6;
  stats.post_p99_ms = static_cast<double>(post_latency_.percentile_ns(0.99)) / 1e6;
  return stats;
}

void Publisher::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool Publisher::claim(Batch* batch) {
  size_t size = options_.path == PublishPath::kNotify ? options_.batch : 1;
  if (next_seq_ >= options_.messages) return false;
  batch->first_seq = next_seq_;
  batch->count = std::min<uint64_t>(size, options_.messages - next_seq_);
  next_seq_ += batch->count;
  return true;
}

std::string Publisher::body_for(const Batch& batch, int64_t start_ns) const {
  if (options_.path == PublishPath::kNchan) return format_load_content({batch.first_seq, start_ns});
  if (options_.path == PublishPath::kMessages) {
    return fmt::format(R"({{"content":"{}"}})", format_load_content({batch.first_seq, start_ns}));
  }
  std::string body = batch.count > 1 ? "[" : "";
  for (uint64_t seq = batch.first_seq; seq < batch.first_seq + batch.count; ++seq) {
    if (seq != batch.first_seq) body += ',';
    body += fmt::format(R"({{"id":"{}","content":"{}","user":"load","channel":"general",)"
                        R"("timestamp":"2026-01-01T00:00:00.000Z"}})",
                        base_id_ + static_cast<int64_t>(seq), format_load_content({seq, start_ns}));
  }
  if (batch.count > 1) body += ']';
  return body;
}

std::string Publisher::request_for(const Batch& batch, int64_t start_ns) const {
  std::string body = body_for(batch, start_ns);
  const char* content_type =
      options_.path == PublishPath::kNchan ? "text/plain" : "application/json";
  return fmt::format(
      "POST {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{}",
      target_, port_, content_type, body.size(), body);
}

void Publisher::record(const Batch& batch, bool ok, int64_t start_ns, int64_t end_ns) {
  std::lock_guard lock(stats_mutex_);
  (ok ? stats_.published : stats_.failed) += batch.count;
  if (stats_.first_start_ns == 0 || start_ns < stats_.first_start_ns) {
    stats_.first_start_ns = start_ns;
  }
  stats_.last_end_ns = std::max(stats_.last_end_ns, end_ns);
  post_latency_.record(end_ns - start_ns);
}

void Publisher::run() {
  const bool one_at_a_time = options_.path == PublishPath::kNotify;
  int epoll_fd = epoll_create1(EPOLL_CLOEXEC);
  std::vector<Connection> conns(one_at_a_time ? 1 : options_.publishers);
  size_t in_flight = 0;

  auto watch = [&](Connection& conn, size_t index) {
    epoll_event event{};
    event.events = EPOLLIN | (conn.out_sent < conn.out.size() || !conn.connected ? EPOLLOUT : 0u);
    event.data.u64 = index;
    epoll_ctl(epoll_fd, EPOLL_CTL_MOD, conn.fd, &event);
  };
  auto open = [&](Connection& conn, size_t index) {
    conn.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int yes = 1;
    setsockopt(conn.fd, IPPROTO_TCP, TCP_NODELAY, &yes, sizeof(yes));
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(static_cast<uint16_t>(port_));
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int rc = connect(conn.fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
    conn.connected = rc == 0;
    epoll_event event{};
    event.events = EPOLLIN | (conn.connected ? 0u : EPOLLOUT);  // level-triggered: OUT only to wait
    event.data.u64 = index;
    epoll_ctl(epoll_fd, EPOLL_CTL_ADD, conn.fd, &event);
    if (rc != 0 && errno != EINPROGRESS) conn.retry_at_ns = monotonic_ns() + kReconnectDelayNs;
  };
  auto close_conn = [&](Connection& conn, bool failed) {
    if (conn.busy) {
      record(conn.batch, false, conn.start_ns, monotonic_ns());
      conn.busy = false;
      --in_flight;
    }
    if (conn.fd >= 0) ::close(conn.fd);
    conn.fd = -1;
    conn.connected = false;
    conn.out.clear();
    conn.out_sent = 0;
    conn.in.clear();
    conn.head.reset();
    conn.retry_at_ns = failed ? monotonic_ns() + kReconnectDelayNs : 0;
  };
  auto flush = [&](Connection& conn, size_t index) {
    while (conn.out_sent < conn.out.size()) {
      ssize_t sent = ::send(conn.fd, conn.out.data() + conn.out_sent,
                            conn.out.size() - conn.out_sent, MSG_NOSIGNAL);
      if (sent > 0) {
        conn.out_sent += static_cast<size_t>(sent);
        continue;
      }
      if (sent < 0 && errno == EINTR) continue;
      if (sent < 0 && errno == EAGAIN) {
        watch(conn, index);
        return;
      }
      close_conn(conn, true);
      return;
    }
    watch(conn, index);
  };
  // Consumes every complete answer in `in`; false when the connection must close.
  auto consume = [&](Connection& conn) {
    while (!conn.in.empty()) {
      if (!conn.head) {
        size_t end = conn.in.find("\r\n\r\n");
        if (end == std::string::npos) return conn.in.size() <= kMaxAnswerHeadBytes;
        conn.head = testing::parse_response_head(std::string_view(conn.in).substr(0, end + 4));
        if (!conn.head) return false;
        conn.in.erase(0, end + 4);
        if (conn.head->status < 200) {  // interim: the real one follows
          conn.head.reset();
          continue;
        }
        if (!conn.head->chunked() && !conn.head->content_length()) return false;  // to EOF
        conn.decoder = testing::ChunkedDecoder(testing::ChunkedDecoder::LineEnds::kCrlfOrLf);
      }
      size_t used = 0;
      if (conn.head->chunked()) {
        conn.chunked_body.clear();
        auto status = conn.decoder.feed(conn.in, &conn.chunked_body, &used);
        conn.in.erase(0, used);
        if (status == testing::ChunkedDecoder::Status::kError) return false;
        if (status == testing::ChunkedDecoder::Status::kNeedMore) return true;
      } else {
        size_t length = *conn.head->content_length();
        if (conn.in.size() < length) return true;
        conn.in.erase(0, length);
      }
      if (!conn.busy) return false;  // an answer nobody asked for
      bool ok = conn.head->status >= 200 && conn.head->status < 300;
      // The server closes after this answer: it said so, or it spoke HTTP/1.0 without keep-alive.
      bool close = conn.head->header_names("Connection", "close") ||
                   (conn.head->head.compare(0, 9, "HTTP/1.0 ") == 0 &&
                    !conn.head->header_names("Connection", "keep-alive"));
      record(conn.batch, ok, conn.start_ns, monotonic_ns());
      conn.busy = false;
      --in_flight;
      conn.head.reset();
      if (close) return false;
    }
    return true;
  };

  for (size_t i = 0; i < conns.size(); ++i) open(conns[i], i);
  std::vector<epoll_event> events(conns.size() + 1);
  bool more = true;  // messages left to claim
  while (!stop_) {
    int64_t now = monotonic_ns();
    int64_t wait_ns = static_cast<int64_t>(kMaxWaitMs) * 1'000'000;
    // Starts a POST on every connection that is free, as the rate and the order allow.
    for (size_t i = 0; i < conns.size() && more; ++i) {
      Connection& conn = conns[i];
      if (conn.fd < 0) {
        if (conn.retry_at_ns <= now) open(conn, i);
        continue;
      }
      if (conn.busy || !conn.connected || (one_at_a_time && in_flight > 0)) continue;
      if (options_.rate > 0) {
        auto due = schedule_start_ns_ +
                   static_cast<int64_t>(static_cast<double>(next_seq_) * 1e9 / options_.rate);
        if (due > now) {
          wait_ns = std::min(wait_ns, due - now);
          break;
        }
      }
      if (!claim(&conn.batch)) {
        more = false;
        break;
      }
      conn.busy = true;
      ++in_flight;
      conn.start_ns = monotonic_ns();
      conn.out = request_for(conn.batch, conn.start_ns);
      conn.out_sent = 0;
      flush(conn, i);
    }
    if (!more && in_flight == 0) break;
    // Answers that never came: failed, and their connections opened afresh.
    for (auto& conn : conns) {
      if (conn.busy && now - conn.start_ns > kAnswerTimeoutNs) close_conn(conn, true);
    }
    int timeout_ms = static_cast<int>((wait_ns + 999'999) / 1'000'000);
    int count = epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int e = 0; e < count; ++e) {
      size_t index = events[e].data.u64;
      Connection& conn = conns[index];
      if (conn.fd < 0) continue;
      if (!conn.connected && (events[e].events & (EPOLLOUT | EPOLLERR | EPOLLHUP))) {
        int error = 0;
        socklen_t length = sizeof(error);
        getsockopt(conn.fd, SOL_SOCKET, SO_ERROR, &error, &length);
        if (error != 0) {
          close_conn(conn, true);
          continue;
        }
        conn.connected = true;
        watch(conn, index);
      }
      if (events[e].events & EPOLLOUT) flush(conn, index);
      if (conn.fd < 0) continue;
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        char buffer[16 * 1024];
        bool open_still = true;
        while (true) {
          ssize_t got = ::recv(conn.fd, buffer, sizeof(buffer), 0);
          if (got > 0) {
            conn.in.append(buffer, static_cast<size_t>(got));
            if (static_cast<size_t>(got) < sizeof(buffer)) break;  // drained (level-triggered)
            continue;
          }
          if (got < 0 && errno == EINTR) continue;
          if (got < 0 && errno == EAGAIN) break;
          open_still = false;  // closed by the server, or an error
          break;
        }
        bool keep = consume(conn);
        if (!keep || !open_still) close_conn(conn, !open_still && conn.busy);
      }
    }
  }
  for (auto& conn : conns) {
    if (conn.fd >= 0) ::close(conn.fd);
  }
  ::close(epoll_fd);
  running_ = 0;
}

}  // namespace relay::load
