#include "message-service/cluster_watch.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "message-service/account_store.h"

namespace relay {

ClusterWatch::ClusterWatch(std::string url, std::function<void()> on_change, const Logger& logger)
    : connection_(std::move(url)),
      on_change_(std::move(on_change)),
      logger_(logger),
      wake_fd_(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

ClusterWatch::~ClusterWatch() {
  stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void ClusterWatch::start() {
  thread_ = std::thread([this] { run(); });
}

void ClusterWatch::stop() {
  stopping_ = true;
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    [[maybe_unused]] ssize_t written = write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
}

void ClusterWatch::pause(int ms) {
  pollfd fd{wake_fd_, POLLIN, 0};
  poll(&fd, 1, ms);
}

void ClusterWatch::run() {
  bool listening = false;
  bool reported = false;
  while (!stopping_.load()) {
    if (!listening) {
      listening = listen();
      if (!listening) {
        if (!reported) logger_.warn("cluster watch: PostgreSQL unreachable; retrying");
        reported = true;
        pause(kRetryMs);
        continue;
      }
      reported = false;
      on_change_();  // whatever changed while not listening
      continue;
    }
    listening = wait();
    if (!stopping_.load()) on_change_();
  }
  connection_.reset();
}

bool ClusterWatch::listen() {
  connection_.reset();
  PgResult listened = connection_.exec(std::string("LISTEN ") + AccountStore::kChangedChannel);
  if (listened.ok()) return true;
  connection_.reset();
  return false;
}

bool ClusterWatch::wait() {
  pg_conn* conn = connection_.raw();
  if (conn == nullptr || PQstatus(conn) != CONNECTION_OK) return false;
  pollfd fds[2] = {{PQsocket(conn), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
  int ready = poll(fds, 2, kIdleMs);
  if (ready > 0 && (fds[0].revents & (POLLIN | POLLHUP | POLLERR)) != 0) {
    if (PQconsumeInput(conn) == 0) return false;
    while (PGnotify* notice = PQnotifies(conn)) PQfreemem(notice);
  } else if (ready == 0) {
    // Quiet for a while: make sure the session (and so its LISTEN) is still the same one.
    if (!connection_.exec("SELECT 1").ok() || connection_.raw() != conn) return false;
  }
  return PQstatus(conn) == CONNECTION_OK;
}

}  // namespace relay
