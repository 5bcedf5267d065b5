#include "bench/load/subscriber_pool.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include "bench/load/server_dialect.h"

namespace relay::load {

namespace {

constexpr size_t kReadBufferBytes = 256 * 1024;
constexpr size_t kMaxHeaderBytes = 16 * 1024;
constexpr int kMaxEventsPerWait = 1024;

std::string lower(std::string_view text) {
  std::string result(text);
  std::transform(result.begin(), result.end(), result.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return result;
}

}  // namespace

SubscriberPool::SubscriberPool(Target target, int port, std::string nchan_path, size_t subscribers,
                               size_t max_connecting, MessageSink sink)
    : target_(target),
      port_(port),
      nchan_path_(std::move(nchan_path)),
      max_connecting_(max_connecting),
      sink_(std::move(sink)),
      epoll_fd_(epoll_create1(EPOLL_CLOEXEC)),
      streams_(subscribers),
      read_buffer_(kReadBufferBytes, '\0') {}

SubscriberPool::~SubscriberPool() {
  for (Stream& stream : streams_) {
    if (stream.fd >= 0) close(stream.fd);
  }
  if (epoll_fd_ >= 0) close(epoll_fd_);
}

std::vector<bool> SubscriberPool::connected_flags() const {
  std::vector<bool> flags(streams_.size());
  for (size_t i = 0; i < streams_.size(); ++i) flags[i] = streams_[i].connected;
  return flags;
}

void SubscriberPool::open(size_t index) {
  Stream& stream = streams_[index];
  stream.parser =
      std::make_unique<SseParser>([this, index](const SseEvent& event) { on_event(index, event); });
  stream.pending_out = subscribe_request(target_, port_, nchan_path_, index);
  ++in_progress_;
  stream.fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (stream.fd < 0) {
    close_stream(index);
    return;
  }
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port_));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int rc = connect(stream.fd, reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  if (rc != 0 && errno != EINPROGRESS) {
    close_stream(index);
    return;
  }
  stream.phase = Phase::kConnecting;
  watch(index, EPOLL_CTL_ADD, EPOLLOUT);
}

void SubscriberPool::watch(size_t index, int operation, uint32_t events) {
  epoll_event interest{};
  interest.events = events;
  interest.data.u64 = index;
  if (epoll_ctl(epoll_fd_, operation, streams_[index].fd, &interest) != 0) close_stream(index);
}

bool SubscriberPool::poll(int timeout_ms) {
  if (epoll_fd_ < 0) return false;
  while (next_to_open_ < streams_.size() && in_progress_ < max_connecting_) {
    open(next_to_open_++);
  }
  epoll_event ready[kMaxEventsPerWait];
  int count = epoll_wait(epoll_fd_, ready, kMaxEventsPerWait, timeout_ms);
  if (count < 0) return errno == EINTR;
  for (int i = 0; i < count; ++i) on_ready(static_cast<size_t>(ready[i].data.u64), ready[i].events);
  return true;
}

void SubscriberPool::on_ready(size_t index, uint32_t events) {
  Stream& stream = streams_[index];
  if (stream.phase == Phase::kClosed) return;
  if (stream.phase == Phase::kConnecting || stream.phase == Phase::kSending) {
    on_writable(index);
  } else if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
    on_readable(index);
  }
}

void SubscriberPool::on_writable(size_t index) {
  Stream& stream = streams_[index];
  if (stream.phase == Phase::kConnecting) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(stream.fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0 || error != 0) {
      close_stream(index);
      return;
    }
    stream.phase = Phase::kSending;
  }
  ssize_t written =
      send(stream.fd, stream.pending_out.data(), stream.pending_out.size(), MSG_NOSIGNAL);
  if (written < 0) {
    if (errno != EAGAIN && errno != EINTR) close_stream(index);
    return;
  }
  stream.pending_out.erase(0, static_cast<size_t>(written));
  if (!stream.pending_out.empty()) return;
  stream.pending_out.shrink_to_fit();
  stream.phase = Phase::kHeaders;
  watch(index, EPOLL_CTL_MOD, EPOLLIN);
}

void SubscriberPool::on_readable(size_t index) {
  Stream& stream = streams_[index];
  ssize_t got = recv(stream.fd, read_buffer_.data(), read_buffer_.size(), 0);
  if (got < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (got <= 0) {
    close_stream(index);
    return;
  }
  std::string_view bytes(read_buffer_.data(), static_cast<size_t>(got));
  if (stream.phase == Phase::kHeaders) {
    if (!take_headers(stream, &bytes)) {
      close_stream(index);
      return;
    }
    if (stream.phase == Phase::kHeaders) return;  // the blank line has not arrived yet
  }
  feed_body(index, bytes);
}

bool SubscriberPool::take_headers(Stream& stream, std::string_view* rest) {
  size_t old_size = stream.head.size();
  stream.head.append(*rest);
  size_t end = stream.head.find("\r\n\r\n");
  if (end == std::string::npos) {
    *rest = {};
    return stream.head.size() <= kMaxHeaderBytes;
  }
  std::string_view status_line(stream.head.data(), stream.head.find("\r\n"));
  if (status_line.substr(0, 13) != "HTTP/1.1 200 " &&
      status_line.substr(0, 13) != "HTTP/1.0 200 ") {
    return false;
  }
  std::string headers = lower(std::string_view(stream.head).substr(0, end));
  stream.chunked = headers.find("\r\ntransfer-encoding: chunked") != std::string::npos;
  rest->remove_prefix(end + 4 - old_size);
  stream.head.clear();
  stream.head.shrink_to_fit();
  stream.phase = Phase::kBody;
  return true;
}

void SubscriberPool::feed_body(size_t index, std::string_view bytes) {
  Stream& stream = streams_[index];
  if (bytes.empty()) return;
  if (!stream.connected && opens_on_first_bytes(target_)) mark_connected(stream);
  if (!stream.chunked) {
    stream.parser->feed(bytes);
    return;
  }
  using testing::ChunkedDecoder;
  ChunkedDecoder::Status status = stream.decoder.feed(bytes, &decoded_);
  stream.parser->feed(decoded_);
  decoded_.clear();
  if (status != ChunkedDecoder::Status::kNeedMore) close_stream(index);
}

void SubscriberPool::on_event(size_t index, const SseEvent& event) {
  Stream& stream = streams_[index];
  if (event.event == "message") {
    sink_(index, event);
  } else if (event.event == "connected" && !stream.connected) {
    mark_connected(stream);
  } else if (event.event == "reset") {
    ++resets_;
  }
}

void SubscriberPool::mark_connected(Stream& stream) {
  stream.connected = true;
  ++connected_;
  --in_progress_;
}

void SubscriberPool::close_stream(size_t index) {
  Stream& stream = streams_[index];
  if (stream.phase == Phase::kClosed) return;
  if (stream.fd >= 0) {
    close(stream.fd);  // also removes it from the epoll set
    stream.fd = -1;
  }
  stream.phase = Phase::kClosed;
  if (stream.connected) {
    ++closed_after_connect_;
  } else {
    ++failed_;
    --in_progress_;
  }
}

}  // namespace relay::load
