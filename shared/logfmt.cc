#include "shared/logfmt.h"

#include <cstdio>
#include <mutex>

#include <fmt/format.h>

#include "shared/time_format.h"

namespace relay {

LogField::LogField(std::string_view k, double v) : key(k), value(fmt::format("{:.3f}", v)) {}

namespace {

void append_value(std::string& out, std::string_view value) {
  bool needs_quotes = value.empty();
  for (char c : value) {
    auto u = static_cast<unsigned char>(c);
    if (c == ' ' || c == '"' || c == '=' || c == '\\' || u < 0x20) needs_quotes = true;
  }
  if (!needs_quotes) {
    out.append(value);
    return;
  }
  out.push_back('"');
  for (char c : value) {
    switch (c) {
      case '"':
        out.append("\\\"");
        break;
      case '\\':
        out.append("\\\\");
        break;
      case '\n':
        out.append("\\n");
        break;
      case '\r':
        out.append("\\r");
        break;
      case '\t':
        out.append("\\t");
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          out.append(fmt::format("\\u{:04x}", static_cast<int>(c)));
        } else {
          out.push_back(c);
        }
    }
  }
  out.push_back('"');
}

std::mutex& stdout_mutex() {
  static std::mutex mutex;
  return mutex;
}

}  // namespace

std::string Logger::format(std::string_view level, std::string_view msg,
                           std::initializer_list<LogField> fields) const {
  std::string line = "ts=" + format_rfc3339_ms(now_unix_ms()) + " level=";
  line.append(level).append(" svc=").append(service_).append(" msg=");
  append_value(line, msg);
  for (const auto& field : fields) {
    line.push_back(' ');
    line.append(field.key).push_back('=');
    append_value(line, field.value);
  }
  line.push_back('\n');
  return line;
}

void Logger::write(std::string_view level, std::string_view msg,
                   std::initializer_list<LogField> fields) const {
  std::string line = format(level, msg, fields);
  std::lock_guard lock(stdout_mutex());
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fflush(stdout);
}

void Logger::write_lines(std::string_view lines) const {
  if (lines.empty()) return;
  std::lock_guard lock(stdout_mutex());
  std::fwrite(lines.data(), 1, lines.size(), stdout);
  std::fflush(stdout);
}

void Logger::info(std::string_view msg, std::initializer_list<LogField> fields) const {
  write("info", msg, fields);
}
void Logger::warn(std::string_view msg, std::initializer_list<LogField> fields) const {
  write("warn", msg, fields);
}
void Logger::error(std::string_view msg, std::initializer_list<LogField> fields) const {
  write("error", msg, fields);
}

}  // namespace relay
