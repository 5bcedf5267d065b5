#include "tests/integration/hostile_support.h"

#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <doctest/doctest.h>

namespace relay::itest {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Milliseconds left until `deadline`, at least 0.
int millis_left(Clock::time_point deadline) {
  auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
  return static_cast<int>(std::clamp<long>(left, 0, 100));
}

}  // namespace

// ---- WireAnswer ----

std::string WireAnswer::header(std::string_view name) const {
  const std::string wanted = lower(name);
  size_t line_start = head.find("\r\n");
  while (line_start != std::string::npos) {
    line_start += 2;
    size_t line_end = head.find("\r\n", line_start);
    if (line_end == std::string::npos || line_end == line_start) break;
    std::string_view line(head.data() + line_start, line_end - line_start);
    size_t colon = line.find(':');
    if (colon != std::string_view::npos && lower(line.substr(0, colon)) == wanted) {
      std::string_view value = line.substr(colon + 1);
      while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) {
        value.remove_prefix(1);
      }
      while (!value.empty() && (value.back() == ' ' || value.back() == '\t'))
        value.remove_suffix(1);
      return std::string(value);
    }
    line_start = line_end;
  }
  return "";
}

bool WireAnswer::has_header(std::string_view name) const {
  const std::string wanted = lower(name) + ":";
  return lower(head).find("\r\n" + wanted) != std::string::npos;
}

Json WireAnswer::json() const {
  return Json::parse(body, nullptr, false);
}

std::string WireAnswer::describe() const {
  return head + body.substr(0, 2000);
}

std::string describe(WireEnd end) {
  switch (end) {
    case WireEnd::kClosed:
      return "closed";
    case WireEnd::kReset:
      return "reset";
    case WireEnd::kStillOpen:
      return "still open";
  }
  return "?";
}

// ---- HostileWire ----

HostileWire::HostileWire(int port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) close();
}

HostileWire::~HostileWire() {
  close();
}

void HostileWire::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

size_t HostileWire::send(std::string_view bytes, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  size_t total = 0;
  while (fd_ >= 0 && total < bytes.size()) {
    ssize_t sent =
        ::send(fd_, bytes.data() + total, bytes.size() - total, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (sent > 0) {
      total += static_cast<size_t>(sent);
      continue;
    }
    if (sent < 0 && errno == EINTR) continue;
    if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (Clock::now() >= deadline) break;
      pollfd pfd{fd_, POLLOUT, 0};
      ::poll(&pfd, 1, millis_left(deadline));
      continue;
    }
    break;  // EPIPE, ECONNRESET: the peer is gone
  }
  return total;
}

void HostileWire::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

bool HostileWire::receive(Clock::time_point deadline) {
  while (fd_ >= 0 && end_ == WireEnd::kStillOpen) {
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, millis_left(deadline));
    if (ready < 0 && errno != EINTR) return false;
    if (ready <= 0) {
      if (Clock::now() >= deadline) return false;
      continue;
    }
    char chunk[65536];
    ssize_t got = ::recv(fd_, chunk, sizeof(chunk), 0);
    if (got < 0 && errno == EINTR) continue;
    if (got > 0) {
      buffer_.append(chunk, static_cast<size_t>(got));
      return true;
    }
    end_ = got == 0 ? WireEnd::kClosed : WireEnd::kReset;
  }
  return false;
}

std::optional<WireAnswer> HostileWire::read_head(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (buffer_.find("\r\n\r\n") == std::string::npos) {
    if (!receive(deadline)) return std::nullopt;
  }
  size_t head_end = buffer_.find("\r\n\r\n") + 4;
  WireAnswer answer;
  answer.head = buffer_.substr(0, head_end);
  buffer_.erase(0, head_end);
  if (answer.head.rfind("HTTP/1.", 0) == 0 && answer.head.size() > 12) {
    answer.status = std::atoi(answer.head.c_str() + 9);
  }
  return answer;
}

std::optional<WireAnswer> HostileWire::read_answer(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  auto answer = read_head(timeout);
  if (!answer) return std::nullopt;
  auto left = std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
  if (!read_body(*answer, left)) return std::nullopt;
  return answer;
}

bool HostileWire::read_body(WireAnswer& answer, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  if (answer.status / 100 == 1 || answer.status == 204 || answer.status == 304) return true;
  if (lower(answer.header("Transfer-Encoding")).find("chunked") != std::string::npos) {
    while (true) {
      size_t line_end;
      while ((line_end = buffer_.find("\r\n")) == std::string::npos) {
        if (!receive(deadline)) return false;
      }
      size_t size = std::strtoul(buffer_.c_str(), nullptr, 16);
      while (buffer_.size() < line_end + 2 + size + 2) {
        if (!receive(deadline)) return false;
      }
      answer.body.append(buffer_, line_end + 2, size);
      buffer_.erase(0, line_end + 2 + size + 2);  // a terminator without trailers ends in CRLF
      if (size == 0) return true;
    }
  }
  std::string length = answer.header("Content-Length");
  if (!length.empty()) {
    size_t body_length = std::strtoul(length.c_str(), nullptr, 10);
    while (buffer_.size() < body_length) {
      if (!receive(deadline)) return false;
    }
    answer.body = buffer_.substr(0, body_length);
    buffer_.erase(0, body_length);
    return true;
  }
  // Neither: the body runs to the close.
  while (receive(deadline)) {
  }
  if (end_ == WireEnd::kStillOpen) return false;
  answer.body = std::move(buffer_);
  buffer_.clear();
  return true;
}

WireEnd HostileWire::wait_end(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (receive(deadline)) {
  }
  return end_;
}

bool HostileWire::ended_now() {
  if (fd_ >= 0 && end_ == WireEnd::kStillOpen) receive(Clock::now());
  return end_ != WireEnd::kStillOpen;
}

// ---- requests and refusals ----

std::string raw_request(std::string_view request_line, const std::vector<std::string>& headers,
                        std::string_view body) {
  std::string request(request_line);
  request += "\r\n";
  for (const auto& header : headers) request += header + "\r\n";
  request += "\r\n";
  request += body;
  return request;
}

std::string post_messages_request(const std::string& json_body, const std::string& extra_headers) {
  return "POST /messages HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(json_body.size()) + "\r\n\r\n" +
         json_body;
}

std::string post_notify_request(const std::string& json_body, const std::string& extra_headers) {
  return "POST /notify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
         extra_headers + "Content-Length: " + std::to_string(json_body.size()) + "\r\n\r\n" +
         json_body;
}

bool check_json_error(const std::optional<WireAnswer>& answer, int status,
                      const std::string& error) {
  REQUIRE_MESSAGE(answer.has_value(), "no answer");
  if (answer->status != status) {
    FAIL_CHECK("expected status " << status << ", got: " << answer->describe());
    return false;
  }
  CHECK_MESSAGE(answer->header("Content-Type").rfind("application/json", 0) == 0,
                answer->describe());
  Json body = answer->json();
  if (!body.is_object()) {
    FAIL_CHECK("the body is not a JSON object: " << answer->describe());
    return false;
  }
  if (error.empty()) {
    CHECK_MESSAGE((body["error"].is_string() && !body["error"].get<std::string>().empty()),
                  answer->describe());
  } else {
    CHECK_MESSAGE(body.value("error", "") == error, answer->describe());
  }
  CHECK_MESSAGE((body["detail"].is_string() && !body["detail"].get<std::string>().empty()),
                answer->describe());
  return true;
}

void CloseWatch::add(std::string what, std::unique_ptr<HostileWire> wire) {
  wire->send("GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 1s);  // may fail: closed
  wires_.emplace_back(std::move(what), std::move(wire));
}

void CloseWatch::check(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  for (auto& [what, wire] : wires_) {
    auto left = std::max(Millis(0), std::chrono::duration_cast<Millis>(deadline - Clock::now()));
    WireEnd end = wire->wait_end(left);
    CHECK_MESSAGE(end != WireEnd::kStillOpen,
                  what << ": the connection stays open after the refusal; then received: "
                       << wire->buffer().substr(0, 300));
    CHECK_MESSAGE(wire->buffer().empty(),
                  what << ": after the refusal the server answered more on the same connection: "
                       << wire->buffer().substr(0, 300));
  }
  wires_.clear();
}

std::optional<WireAnswer> expect_refusal(const std::string& what, int port,
                                         std::string_view request, const Refusal& refusal,
                                         CloseWatch* closes) {
  auto wire = std::make_unique<HostileWire>(port);
  REQUIRE(wire->connected());
  wire->send(request);  // may stop short: the server may answer and close before reading it all
  INFO(what << " on port " << port << ": expected " << refusal.status << " " << refusal.error);
  // The head first: a wrong answer may be a stream that never ends.
  auto answer = wire->read_head(5s);
  if (answer && answer->status != refusal.status) {
    FAIL_CHECK("expected status " << refusal.status << ", got: " << answer->head
                                  << wire->buffer().substr(0, 300));
    return answer;
  }
  if (answer && !wire->read_body(*answer, 5s)) answer.reset();
  if (!answer) {
    WireEnd end = wire->wait_end(0ms);
    FAIL_CHECK("no answer; the connection is " << describe(end)
                                               << ", received: " << wire->buffer().substr(0, 500));
    return answer;
  }
  // The close is checked only after the right answer: a wrong one is reported once, above.
  if (check_json_error(answer, refusal.status, refusal.error) && refusal.closes) {
    if (closes != nullptr) {
      closes->add(what, std::move(wire));
    } else {
      CloseWatch watch;
      watch.add(what, std::move(wire));
      watch.check();
    }
  }
  return answer;
}

// ---- Witness ----

Witness::Witness(Relay& relay) : relay_(relay) {
  // Resumed from the newest stored id: messages stored before the witness started but not yet
  // forwarded are not news to it.
  history_ = history();
  std::string newest = history_.empty() ? "0" : std::to_string(std::atoll(history_.back().c_str()));
  stream_ = std::make_unique<SseStream>(relay_.notify_port(), "/events",
                                        httplib::Headers{{"Last-Event-ID", newest}});
  REQUIRE_MESSAGE(stream_->wait_connected(), stream_->describe());
}

std::vector<std::string> Witness::history() const {
  HttpResponse response = relay_.message_http(10s).get("/messages?limit=1000");
  REQUIRE_MESSAGE(response.status == 200, response.describe());
  Json body = response.json();
  REQUIRE_MESSAGE(body["messages"].is_array(), response.describe());
  std::vector<std::pair<int64_t, std::string>> by_id;
  for (const auto& message : body["messages"]) {
    by_id.emplace_back(id_of(message),
                       message.value("id", "") + "|" + message.value("channel", "") + "|" +
                           message.value("user", "") + "|" + message.value("content", ""));
  }
  std::sort(by_id.begin(), by_id.end());
  std::vector<std::string> out;
  for (auto& [id, summary] : by_id) out.push_back(std::move(summary));
  return out;
}

int64_t Witness::newest_id() const {
  auto all = history();
  return all.empty() ? 0 : std::atoll(all.back().c_str());
}

bool Witness::history_contains(const std::string& text) const {
  for (const auto& summary : history()) {
    if (summary.find(text) != std::string::npos) return true;
  }
  return false;
}

void Witness::check_unharmed(const std::string& what) {
  INFO("after: " << what);
  REQUIRE_MESSAGE(relay_.message().running(), relay_.message().diagnostics());
  REQUIRE_MESSAGE(relay_.notify().running(), relay_.notify().diagnostics());
  for (const HttpClient& http : {relay_.message_http(5s), relay_.notify_http(5s)}) {
    HttpResponse health = http.get("/health");
    CHECK_MESSAGE(health.status == 200,
                  "GET /health on port " << http.port() << ": " << health.describe());
  }

  // The marker: the next message on the stream, and the only new one in the history.
  const std::string marker = "witness-marker-" + std::to_string(++markers_);
  HttpResponse posted =
      relay_.message_http(10s).post_json("/messages", {{"content", marker}, {"user", "witness"}});
  REQUIRE_MESSAGE(posted.status == 201, posted.describe());
  const int64_t marker_id = id_of(posted.json());
  bool arrived = stream_->wait_until(
      [&] {
        for (const auto& message : stream_->messages()) {
          if (message.data.value("content", "") == marker) return true;
        }
        return false;
      },
      10s);
  CHECK_MESSAGE(arrived,
                "the marker " << marker_id << " never reached the stream: " << stream_->describe());
  std::vector<StreamMessage> messages = stream_->messages();
  std::vector<std::string> unexpected;
  for (size_t i = stream_seen_; i < messages.size(); ++i) {
    if (messages[i].data.value("content", "") != marker)
      unexpected.push_back(messages[i].data.dump());
  }
  CHECK_MESSAGE(unexpected.empty(),
                "the stream got events it should not have: " << Json(unexpected).dump());
  stream_seen_ = messages.size();

  std::vector<std::string> expected = history_;
  expected.push_back(std::to_string(marker_id) + "|general|witness|" + marker);
  std::vector<std::string> now = history();
  if (now != expected) {
    std::vector<std::string> added;
    for (const auto& summary : now) {
      if (std::find(history_.begin(), history_.end(), summary) == history_.end()) {
        added.push_back(summary);
      }
    }
    FAIL_CHECK("the history changed beyond the marker; new entries: " << Json(added).dump());
  }
  history_ = std::move(now);
}

}  // namespace relay::itest
