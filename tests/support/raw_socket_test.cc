// RawSocket::read_response against a canned server on 127.0.0.1: the bytes it sends are exactly
// the test's, so each framing (Content-Length, chunked, close-delimited, no body) and the
// "closed after" report can be checked, and a broken framing must not pass for a response.

#include "tests/support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <thread>

#include <doctest/doctest.h>

namespace relay::testing {
namespace {

// Accepts one connection, reads the request bytes that are there, sends `reply`, and then closes
// the connection or (close_after == false) holds it open until the test ends.
class CannedServer {
 public:
  CannedServer(std::string reply, bool close_after) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_fd_ >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_fd_, 1) == 0);
    socklen_t length = sizeof addr;
    REQUIRE(::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
    port_ = ntohs(addr.sin_port);
    server_ = std::thread([this, reply = std::move(reply), close_after] {
      int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd < 0) return;
      size_t sent = 0;
      while (sent < reply.size()) {
        ssize_t n = ::send(fd, reply.data() + sent, reply.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) break;
        sent += static_cast<size_t>(n);
      }
      if (close_after) {
        ::shutdown(fd, SHUT_WR);
        char drain[256];
        while (::recv(fd, drain, sizeof drain, 0) > 0) {
        }
      } else {
        char drain[256];
        while (::recv(fd, drain, sizeof drain, 0) > 0) {  // until the client closes
        }
      }
      ::close(fd);
    });
  }
  ~CannedServer() {
    ::shutdown(listen_fd_, SHUT_RDWR);
    server_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }

 private:
  int listen_fd_ = -1;
  int port_ = 0;
  std::thread server_;
};

TEST_CASE("RawSocket::read_response: pipelined Content-Length and chunked responses, in order") {
  CannedServer server(
      "HTTP/1.1 100 Continue\r\n\r\n"
      "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nconnection: keep-alive\r\n\r\nhello"
      "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n"
      "0\r\nTrailer: t\r\n\r\n"
      "HTTP/1.1 204 No Content\r\nX-Odd:   spaced   \r\n\r\n"
      "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n\r\nno",
      /*close_after=*/false);
  RawSocket socket(server.port());
  REQUIRE(socket.connected());
  REQUIRE(socket.send_all("GET / HTTP/1.1\r\n\r\n"));

  auto interim = socket.read_response();
  REQUIRE(interim.has_value());
  CHECK(interim->status == 100);
  CHECK(interim->body.empty());
  auto ok = socket.read_response();
  REQUIRE(ok.has_value());
  CHECK(ok->status == 200);
  CHECK(ok->body == "hello");
  CHECK(ok->header("Connection") == "keep-alive");  // names compare case-insensitively
  CHECK(ok->head.find("connection: keep-alive\r\n") != std::string::npos);  // as sent
  CHECK_FALSE(ok->closed_after);
  auto chunked = socket.read_response();
  REQUIRE(chunked.has_value());
  CHECK(chunked->status == 201);
  CHECK(chunked->body == "abcde");
  auto empty = socket.read_response();
  REQUIRE(empty.has_value());
  CHECK(empty->status == 204);
  CHECK(empty->header("X-Odd") == "spaced");
  auto last = socket.read_response();
  REQUIRE(last.has_value());
  CHECK(last->status == 404);
  CHECK(last->body == "no");
  CHECK(socket.buffer().empty());
  // Nothing more comes and the connection stays open: no response, and no end.
  CHECK_FALSE(socket.read_response(200ms).has_value());
  CHECK(socket.ending() == ConnectionEnd::kTimeout);
}

TEST_CASE("RawSocket::read_response: Connection: close waits for the close and reports it") {
  CannedServer server("HTTP/1.1 413 Too Large\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}",
                      /*close_after=*/true);
  RawSocket socket(server.port());
  REQUIRE(socket.send_all("POST / HTTP/1.1\r\n\r\n"));
  auto response = socket.read_response();
  REQUIRE(response.has_value());
  CHECK(response->status == 413);
  CHECK(response->body == "{}");
  CHECK(response->closed_after);
  CHECK(socket.wait_end(1s) == ConnectionEnd::kEof);
}

TEST_CASE("RawSocket::read_response: a close-delimited body ends with the connection") {
  CannedServer server("HTTP/1.0 200 OK\r\n\r\nall of this", /*close_after=*/true);
  RawSocket socket(server.port());
  REQUIRE(socket.send_all("GET / HTTP/1.0\r\n\r\n"));
  auto response = socket.read_response();
  REQUIRE(response.has_value());
  CHECK(response->body == "all of this");
  CHECK(response->closed_after);
}

TEST_CASE("RawSocket::read_response: broken framing is no response, and the bytes stay") {
  for (const char* reply : {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
                            "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
                            "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
                            "HTTP/2 200\r\n\r\n", "SSH-2.0-OpenSSH\r\n\r\n"}) {
    CAPTURE(reply);
    CannedServer server(reply, /*close_after=*/true);
    RawSocket socket(server.port());
    REQUIRE(socket.send_all("GET / HTTP/1.1\r\n\r\n"));
    CHECK_FALSE(socket.read_response(2s).has_value());
    CHECK(socket.read_until("\r\n\r\n", 2s));
    CHECK(socket.buffer().rfind(std::string(reply).substr(0, 8), 0) == 0);
  }
}

TEST_CASE("RawSocket: read_some, drain_until_eof and shutdown_write") {
  CannedServer server(std::string(100000, 'x'), /*close_after=*/true);
  RawSocket socket(server.port());
  REQUIRE(socket.send_all("anything"));
  socket.shutdown_write();  // the canned server reads to our end before it closes
  std::string first = socket.read_some(5s, 1000);
  CHECK(first.size() >= 1000);
  size_t rest = 0;
  CHECK(socket.drain_until_eof(5s, &rest));
  CHECK(first.size() + rest == 100000);
  CHECK(socket.ending() == ConnectionEnd::kEof);
}

}  // namespace
}  // namespace relay::testing
