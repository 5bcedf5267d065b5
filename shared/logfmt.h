#pragma once

#include <concepts>
#include <initializer_list>
#include <string>
#include <string_view>

namespace relay {

/// One key=value pair of a log line. Values are quoted when they need it.
struct LogField {
  std::string_view key;
  std::string value;

  LogField(std::string_view k, std::string_view v) : key(k), value(v) {}
  LogField(std::string_view k, const std::string& v) : key(k), value(v) {}
  LogField(std::string_view k, const char* v) : key(k), value(v) {}
  template <std::integral T>
  LogField(std::string_view k, T v) : key(k), value(std::to_string(v)) {}
  LogField(std::string_view k, double v);
};

/// Writes logfmt lines to stdout, one per event:
/// `ts=2026-11-23T15:22:03.123Z level=info svc=notify msg="..." key=value`.
/// Safe to call from any thread: each line is written whole, then flushed.
class Logger {
 public:
  explicit Logger(std::string service) : service_(std::move(service)) {}

  void info(std::string_view msg, std::initializer_list<LogField> fields = {}) const;
  void warn(std::string_view msg, std::initializer_list<LogField> fields = {}) const;
  void error(std::string_view msg, std::initializer_list<LogField> fields = {}) const;

  /// Writes lines made by format() as they are, in one write (a server's access log, batched per
  /// turn of its loop). Thread-safe, as every write.
  void write_lines(std::string_view lines) const;

  /// The line `info` would write, without writing it (for tests and batching).
  std::string format(std::string_view level, std::string_view msg,
                     std::initializer_list<LogField> fields) const;

 private:
  void write(std::string_view level, std::string_view msg,
             std::initializer_list<LogField> fields) const;

  std::string service_;
};

}  // namespace relay
