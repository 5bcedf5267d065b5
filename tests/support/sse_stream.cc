#include "tests/support/sse_stream.h"

#include <algorithm>
#include <optional>
#include <sstream>

#include "shared/validation.h"
#include "tests/support/chunked_decoder.h"

namespace relay::testing {

namespace {

constexpr size_t kRawPrefixBytes = 64 * 1024;
constexpr size_t kMaxHeadBytes = 64 * 1024;

}  // namespace

SseStream::SseStream(int port, std::string target, httplib::Headers headers)
    : port_(port),
      target_(std::move(target)),
      request_headers_(std::move(headers)),
      socket_(port),
      parser_([this](const SseEvent& event) { on_event(event); }) {
  reader_ = std::thread([this] { run(); });
}

SseStream::~SseStream() {
  stop();
}

void SseStream::request_stop() {
  stop_requested_ = true;
  socket_.shutdown();  // wakes the reader's poll at once
}

void SseStream::stop() {
  request_stop();
  if (reader_.joinable()) reader_.join();
  socket_.close();
}

void SseStream::finish(std::string error) {
  std::lock_guard lock(mutex_);
  ended_ = true;
  if (error_.empty()) error_ = std::move(error);
  changed_.notify_all();
}

void SseStream::run() {
  if (!socket_.connected()) {
    finish("could not connect to 127.0.0.1:" + std::to_string(port_));
    return;
  }
  std::string request = "GET " + target_ + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                        "\r\nAccept: text/event-stream\r\n";
  for (const auto& [name, value] : request_headers_) request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (!socket_.send_all(request)) {
    finish("could not send the request");
    return;
  }

  std::string& received = socket_.buffer();
  bool in_body = false;
  bool chunked = false;
  std::optional<size_t> content_left;
  ChunkedDecoder decoder;
  while (!stop_requested_) {
    if (!socket_.receive(100ms)) {
      if (!socket_.ended()) continue;  // nothing for 100 ms: look at stop_requested_ again
      if (socket_.ending() == ConnectionEnd::kReset) {
        finish(stop_requested_ ? "" : "recv failed: connection reset");
        return;
      }
      bool complete =
          in_body && ((chunked && decoder.status() == ChunkedDecoder::Status::kDone) ||
                      (!chunked && !content_left) || (content_left && *content_left == 0));
      finish(in_body ? (complete || stop_requested_ ? "" : "connection closed mid-body")
                     : "connection closed before the response head");
      return;
    }
    if (!in_body) {
      size_t head_end = received.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        if (received.size() > kMaxHeadBytes) {
          finish("response head too large");
          return;
        }
        continue;
      }
      std::optional<ResponseHead> head =
          parse_response_head(std::string_view(received).substr(0, head_end + 4));
      if (!head) {
        finish("malformed status line: " + received.substr(0, received.find('\r')));
        return;
      }
      received.erase(0, head_end + 4);
      in_body = true;
      chunked = head->chunked();
      if (!chunked && head->has_header("Content-Length")) {
        content_left = head->content_length().value_or(0);
      }
      {
        std::lock_guard lock(mutex_);
        status_ = head->status;
        head_ = std::move(*head);
        head_done_ = true;
        changed_.notify_all();
      }
      if (received.empty() && !(content_left && *content_left == 0)) continue;
    }
    std::string decoded;
    if (chunked) {
      if (decoder.feed(received, &decoded) == ChunkedDecoder::Status::kError) {
        finish("malformed chunked encoding");
        return;
      }
    } else if (content_left) {
      size_t take = std::min(*content_left, received.size());
      decoded.assign(received, 0, take);
      *content_left -= take;
    } else {
      decoded.swap(received);
    }
    received.clear();
    if (!decoded.empty()) on_body(decoded);
    if ((chunked && decoder.status() == ChunkedDecoder::Status::kDone) ||
        (content_left && *content_left == 0)) {
      finish("");
      return;
    }
  }
  finish("");
}

void SseStream::on_body(std::string_view bytes) {
  {
    std::lock_guard lock(mutex_);
    if (raw_prefix_.size() < kRawPrefixBytes) {
      raw_prefix_.append(bytes.substr(0, kRawPrefixBytes - raw_prefix_.size()));
    }
    if (status_ != 200) {
      body_.append(bytes);
      changed_.notify_all();
      return;
    }
  }
  parser_.feed(bytes);
  std::lock_guard lock(mutex_);
  comments_ = parser_.comment_count();
  retry_ms_ = parser_.retry_ms();
  changed_.notify_all();
}

void SseStream::on_event(const SseEvent& event) {
  std::lock_guard lock(mutex_);
  // What preceded this event in the same chunk is visible to whoever wakes up for it.
  comments_ = parser_.comment_count();
  retry_ms_ = parser_.retry_ms();
  events_.push_back(event);
  if (event.event == "connected") connected_ = true;
  if (event.event == "message") {
    StreamMessage message;
    auto id = parse_non_negative(event.id);
    if (!event.has_id || !id) {
      problems_.push_back("message event without a numeric id: id='" + event.id + "'");
    } else {
      message.id = *id;
    }
    message.data = Json::parse(event.data, nullptr, false);
    if (!message.data.is_object()) {
      problems_.push_back("message event " + event.id +
                          " data is not a JSON object: " + event.data.substr(0, 200));
    } else {
      if (message.data.value("id", std::string()) != event.id) {
        problems_.push_back("message event " + event.id + " has data id " +
                            message.data.value("id", Json()).dump());
      }
      if (message.data.value("type", std::string()) != "message") {
        problems_.push_back("message event " + event.id + " lacks \"type\":\"message\"");
      }
    }
    messages_.push_back(std::move(message));
  }
  changed_.notify_all();
}

bool SseStream::wait_until(const std::function<bool()>& condition, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return condition();
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 50ms);
  }
}

bool SseStream::wait_connected(Millis timeout) {
  wait_until(
      [this] {
        std::lock_guard lock(mutex_);
        return ended_ || connected_ || (head_done_ && status_ != 200);
      },
      timeout);
  if (status() != 200) {
    // A refusal: wait for its (short) body too, so body() is complete.
    wait_ended(5s);
    return false;
  }
  std::lock_guard lock(mutex_);
  return connected_;
}

bool SseStream::wait_messages(size_t count, Millis timeout) {
  return wait_until([this, count] { return message_count() >= count; }, timeout);
}

bool SseStream::wait_message_id(int64_t id, Millis timeout) {
  return wait_until(
      [this, id] {
        std::lock_guard lock(mutex_);
        return std::any_of(messages_.begin(), messages_.end(),
                           [id](const StreamMessage& m) { return m.id >= id; });
      },
      timeout);
}

bool SseStream::wait_ended(Millis timeout) {
  return wait_until([this] { return ended(); }, timeout);
}

int SseStream::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

std::string SseStream::header(const std::string& name) const {
  std::lock_guard lock(mutex_);
  return head_.header(name);
}

std::string SseStream::body() const {
  std::lock_guard lock(mutex_);
  return body_;
}

std::string SseStream::raw_prefix() const {
  std::lock_guard lock(mutex_);
  return raw_prefix_;
}

std::vector<SseEvent> SseStream::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<StreamMessage> SseStream::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::vector<int64_t> SseStream::message_ids() const {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> ids;
  ids.reserve(messages_.size());
  for (const auto& message : messages_) ids.push_back(message.id);
  return ids;
}

size_t SseStream::message_count() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

size_t SseStream::count_events(const std::string& type) const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(events_.begin(), events_.end(),
                                           [&type](const SseEvent& e) { return e.event == type; }));
}

size_t SseStream::comment_count() const {
  std::lock_guard lock(mutex_);
  return comments_;
}

int SseStream::retry_ms() const {
  std::lock_guard lock(mutex_);
  return retry_ms_;
}

bool SseStream::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

std::string SseStream::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

std::vector<std::string> SseStream::problems() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

std::string SseStream::describe() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "stream GET " << target_ << ": status " << status_ << ", " << events_.size() << " events, "
      << messages_.size() << " messages";
  if (!messages_.empty()) {
    out << " (ids " << messages_.front().id << ".." << messages_.back().id << ")";
  }
  out << ", " << comments_ << " comments, " << (ended_ ? "ended" : "open");
  if (!error_.empty()) out << ", error: " << error_;
  if (!problems_.empty()) out << ", " << problems_.size() << " problems, first: " << problems_[0];
  if (!body_.empty()) out << ", body: " << body_.substr(0, 300);
  if (!events_.empty()) {
    out << ", event types:";
    size_t shown = 0;
    for (const auto& event : events_) {
      if (event.event == "message") continue;
      out << " " << event.event;
      if (++shown == 10) break;
    }
  }
  return out.str();
}

}  // namespace relay::testing
