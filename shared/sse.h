#pragma once

#include <functional>
#include <string>
#include <string_view>

namespace relay {

/// Frames one Server-Sent Event. An empty `id` writes no `id:` line; an empty `event` writes no
/// `event:` line. Each line of `data` (split on CRLF, LF or CR) becomes its own `data:` line, so a
/// reader gets `data` back with LF line ends. Ids and event names must not contain CR or LF.
std::string sse_event(std::string_view id, std::string_view event, std::string_view data);

/// A comment line (`: text`), used as a heartbeat; readers ignore it.
std::string sse_comment(std::string_view text);

/// The `retry:` field telling a reader how long to wait before reconnecting.
std::string sse_retry(int milliseconds);

/// One event as a reader sees it after parsing.
struct SseEvent {
  std::string id;
  bool has_id = false;
  std::string event = "message";
  std::string data;
};

/// An incremental Server-Sent Events reader following the WHATWG rules: feed it bytes as they
/// arrive, in any chunking; it calls `on_event` for each complete event (blank-line terminated)
/// and counts comment lines. Not thread-safe; one parser per stream.
class SseParser {
 public:
  explicit SseParser(std::function<void(const SseEvent&)> on_event);

  void feed(std::string_view bytes);

  /// The last `id:` seen, as a browser would send it in Last-Event-ID.
  const std::string& last_event_id() const { return last_event_id_; }
  int retry_ms() const { return retry_ms_; }
  size_t comment_count() const { return comment_count_; }

 private:
  void process_line(std::string_view line);
  void dispatch();

  std::function<void(const SseEvent&)> on_event_;
  std::string pending_line_;
  bool last_was_cr_ = false;
  std::string event_type_;
  std::string data_;
  bool data_seen_ = false;
  std::string last_event_id_;
  bool id_in_event_ = false;
  int retry_ms_ = -1;
  size_t comment_count_ = 0;
};

}  // namespace relay
