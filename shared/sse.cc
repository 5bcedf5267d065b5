#include "shared/sse.h"

#include <charconv>

namespace relay {

std::string sse_event(std::string_view id, std::string_view event, std::string_view data) {
  std::string out;
  out.reserve(data.size() + id.size() + event.size() + 24);
  if (!id.empty()) {
    out.append("id: ").append(id).push_back('\n');
  }
  if (!event.empty()) {
    out.append("event: ").append(event).push_back('\n');
  }
  size_t start = 0;
  while (true) {
    size_t end = data.find_first_of("\r\n", start);
    auto line = data.substr(start, end == std::string_view::npos ? end : end - start);
    out.append("data: ").append(line).push_back('\n');
    if (end == std::string_view::npos) break;
    start = end + 1;
    if (data[end] == '\r' && start < data.size() && data[start] == '\n') ++start;
  }
  out.push_back('\n');
  return out;
}

std::string sse_comment(std::string_view text) {
  std::string out(": ");
  out.append(text).append("\n\n");
  return out;
}

std::string sse_retry(int milliseconds) {
  return "retry: " + std::to_string(milliseconds) + "\n\n";
}

SseParser::SseParser(std::function<void(const SseEvent&)> on_event)
    : on_event_(std::move(on_event)) {}

void SseParser::feed(std::string_view bytes) {
  for (char c : bytes) {
    if (c == '\n') {
      if (last_was_cr_) {
        last_was_cr_ = false;  // the LF of a CRLF pair: the line was already processed
        continue;
      }
      process_line(pending_line_);
      pending_line_.clear();
    } else if (c == '\r') {
      process_line(pending_line_);
      pending_line_.clear();
      last_was_cr_ = true;
      continue;
    } else {
      pending_line_.push_back(c);
    }
    last_was_cr_ = false;
  }
}

void SseParser::process_line(std::string_view line) {
  if (line.empty()) {
    dispatch();
    return;
  }
  if (line.front() == ':') {
    ++comment_count_;
    return;
  }
  std::string_view field = line;
  std::string_view value;
  if (auto colon = line.find(':'); colon != std::string_view::npos) {
    field = line.substr(0, colon);
    value = line.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  }
  if (field == "event") {
    event_type_ = std::string(value);
  } else if (field == "data") {
    data_.append(value).push_back('\n');
    data_seen_ = true;
  } else if (field == "id") {
    if (value.find('\0') == std::string_view::npos) {
      last_event_id_ = std::string(value);
      id_in_event_ = true;
    }
  } else if (field == "retry") {
    int ms = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
    if (ec == std::errc() && end == value.data() + value.size()) retry_ms_ = ms;
  }
}

void SseParser::dispatch() {
  if (!data_seen_) {
    event_type_.clear();
    id_in_event_ = false;
    return;
  }
  SseEvent event;
  event.data = std::move(data_);
  if (!event.data.empty() && event.data.back() == '\n') event.data.pop_back();
  event.event = event_type_.empty() ? "message" : event_type_;
  event.has_id = id_in_event_;
  event.id = id_in_event_ ? last_event_id_ : std::string();
  data_.clear();
  data_seen_ = false;
  event_type_.clear();
  id_in_event_ = false;
  on_event_(event);
}

}  // namespace relay
