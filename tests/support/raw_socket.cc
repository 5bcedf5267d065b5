#include "tests/support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>

#include "tests/support/chunked_decoder.h"

namespace relay::testing {

namespace {

int connect_loopback(int port, int receive_buffer_bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (receive_buffer_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

}  // namespace

std::string RawResponse::describe() const {
  constexpr size_t kShownBody = 2000;
  return head + (body.size() > kShownBody ? body.substr(0, kShownBody) + "..." : body);
}

// ---- RawSocket ----

RawSocket::RawSocket(int port, int receive_buffer_bytes)
    : fd_(connect_loopback(port, receive_buffer_bytes)) {}

RawSocket::~RawSocket() {
  close();
}

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void RawSocket::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

void RawSocket::shutdown() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);
}

bool RawSocket::send_all(std::string_view bytes) {
  if (fd_ < 0) {
    send_error_ = EBADF;
    return false;
  }
  while (!bytes.empty()) {
    ssize_t sent = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (sent < 0 && errno == EINTR) continue;
    if (sent <= 0) {
      send_error_ = errno;
      return false;
    }
    bytes.remove_prefix(static_cast<size_t>(sent));
  }
  return true;
}

bool RawSocket::receive_before(Clock::time_point deadline) {
  if (ended()) return false;
  while (fd_ >= 0) {
    // Rounded up, and at least one poll, so that a wait of 1 ms still reads what is there.
    auto left = std::chrono::ceil<Millis>(deadline - Clock::now()).count();
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::clamp<long>(left, 0, 100)));
    if (ready < 0 && errno != EINTR) {
      ending_ = ConnectionEnd::kReset;
      return false;
    }
    if (ready <= 0) {
      if (Clock::now() >= deadline) break;
      continue;
    }
    char chunk[65536];
    ssize_t got = ::recv(fd_, chunk, sizeof chunk, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) {
      buffer_.append(chunk, static_cast<size_t>(got));
      return true;
    }
    ending_ = got == 0 ? ConnectionEnd::kEof : ConnectionEnd::kReset;
    return false;
  }
  ending_ = ConnectionEnd::kTimeout;
  return false;
}

bool RawSocket::receive(Millis wait) {
  return receive_before(Clock::now() + wait);
}

bool RawSocket::read_until(std::string_view text, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.find(text) == std::string::npos) {
    if (!receive_before(deadline)) return false;
  }
  return true;
}

std::string RawSocket::read_some(Millis timeout, size_t max_bytes) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.size() < max_bytes && receive_before(deadline)) {
  }
  std::string out;
  out.swap(buffer_);
  return out;
}

bool RawSocket::drain_until_eof(Millis timeout, size_t* bytes_read) {
  auto deadline = Clock::now() + timeout;
  size_t total = buffer_.size();
  buffer_.clear();
  while (receive_before(deadline)) {
    total += buffer_.size();
    buffer_.clear();
  }
  if (bytes_read != nullptr) *bytes_read = total;
  return ended();  // orderly close or reset: either way the server let go
}

ConnectionEnd RawSocket::wait_end(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (receive_before(deadline)) {
  }
  return ending_;
}

std::optional<RawResponse> RawSocket::read_response(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  size_t head_end;
  while ((head_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
    if (!receive_before(deadline)) return std::nullopt;
  }
  const size_t body_start = head_end + 4;
  std::optional<ResponseHead> head =
      parse_response_head(std::string_view(buffer_).substr(0, body_start));
  if (!head) return std::nullopt;
  RawResponse response;
  static_cast<ResponseHead&>(response) = std::move(*head);

  size_t taken = body_start;  // the bytes of buffer_ this response takes
  bool close_delimited = false;
  if (response.status / 100 == 1 || response.status == 204 || response.status == 304) {
    // No body.
  } else if (response.chunked()) {
    ChunkedDecoder decoder;
    while (true) {
      size_t used = 0;
      auto status = decoder.feed(std::string_view(buffer_).substr(taken), &response.body, &used);
      taken += used;
      if (status == ChunkedDecoder::Status::kDone) break;
      if (status == ChunkedDecoder::Status::kError) return std::nullopt;
      if (!receive_before(deadline)) return std::nullopt;
    }
  } else if (response.has_header("Content-Length")) {
    std::optional<size_t> length = response.content_length();
    if (!length) return std::nullopt;
    while (buffer_.size() - body_start < *length) {
      if (!receive_before(deadline)) return std::nullopt;
    }
    response.body = buffer_.substr(body_start, *length);
    taken = body_start + *length;
  } else {
    close_delimited = true;
    while (receive_before(deadline)) {
    }
    if (!ended()) return std::nullopt;
    response.body = buffer_.substr(body_start);
    taken = buffer_.size();
  }
  buffer_.erase(0, taken);

  if (buffer_.empty() && (close_delimited || response.header_names("Connection", "close"))) {
    while (receive_before(deadline)) {
    }
  }
  response.closed_after = ended() && buffer_.empty();
  return response;
}

}  // namespace relay::testing
