#include "message-service/forwarding_lease.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libpq-fe.h>

namespace relay {

ForwardingLease::ForwardingLease(std::string url, std::function<void(bool)> on_change,
                                 std::function<void()> on_news, const Logger& logger)
    : connection_(std::move(url)),
      on_change_(std::move(on_change)),
      on_news_(std::move(on_news)),
      logger_(logger),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ForwardingLease::~ForwardingLease() {
  stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ForwardingLease::start() {
  thread_ = std::thread([this] { run(); });
}

void ForwardingLease::stop() {
  stopping_ = true;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
}

void ForwardingLease::pause(int ms) {
  pollfd fd{wake_fd_, POLLIN, 0};
  poll(&fd, 1, ms);
}

void ForwardingLease::run() {
  bool reported_failure = false;
  while (!stopping_.load()) {
    if (!held_.load()) {
      std::string error;
      if (try_take()) {
        held_ = true;
        reported_failure = false;
        on_change_(true);
        on_news_();  // whatever was stored before the LISTEN
        continue;
      }
      if (!connection_.ensure(&error) && !reported_failure) {
        logger_.warn("forwarding lease: PostgreSQL unreachable; retrying", {{"error", error}});
        reported_failure = true;
      }
      pause(kRetryMs);
      continue;
    }
    if (!keep()) {
      held_ = false;
      connection_.reset();  // the lock went with the session, if it had not already
      on_change_(false);
      logger_.warn("forwarding lease lost: its PostgreSQL session ended");
    }
  }
  if (held_.exchange(false)) on_change_(false);
  connection_.reset();  // closing the session releases the lock
}

bool ForwardingLease::try_take() {
  PgResult taken =
      connection_.exec("SELECT pg_try_advisory_lock($1::bigint)", {PgParam::number(kLockKey)});
  if (!taken.ok() || taken.rows() != 1 || taken.text(0, 0) != "t") return false;
  if (!connection_.exec("LISTEN relay_events").ok()) {
    connection_.reset();  // releases the lock just taken
    return false;
  }
  return true;
}

bool ForwardingLease::keep() {
  pg_conn* conn = connection_.raw();
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return false;
  pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int ready = poll(fds, 2, kRetryMs);
  if (stopping_.load()) return true;
  if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    if (PQconsumeInput(conn) == 0) return false;
  } else if (ready == 0) {
    // Quiet for a while: make sure the session (and so the lock) is still there.
    if (!connection_.exec("SELECT 1").ok()) return false;
    conn = connection_.raw();
    if (conn == nullptr) return false;
  }
  bool news = false;
  while (PGnotify* notice = PQnotifies(conn)) {
    news = true;
    PQfreemem(notice);
  }
  if (news) on_news_();
  return PQstatus(conn) == CONNECTION_OK;
}

}  // namespace relay
