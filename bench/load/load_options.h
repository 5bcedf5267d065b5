#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace relay::load {

/// Which way messages are published.
enum class PublishPath { kNotify, kMessages };

/// Everything sse_load is told on its command line, checked.
struct LoadOptions {
  int notify_port = 8081;   // notify-service on 127.0.0.1
  int message_port = 8080;  // message-service on 127.0.0.1
  size_t subscribers = 100;
  uint64_t messages = 100;
  PublishPath path = PublishPath::kNotify;
  size_t batch = 1;       // messages per POST /notify (notify path only)
  size_t publishers = 1;  // threads, each with its own keep-alive client
  double rate = 0;        // messages/s in total; 0 = as fast as possible
  double time_limit_s = 60;
  int64_t server_pid = 0;  // 0 = no /proc sampling
  size_t max_connecting = 100;
  int64_t drain_ms = 2000;  // stop this long after publishing ends with no event arriving
};

/// The usage text printed for --help and after a bad argument.
std::string load_usage();

/// Parses argv (without the program name). Returns nullopt and sets `*error` on a bad or unknown
/// argument. URLs must be http://127.0.0.1:<port>. Sets `*help` when --help was given.
std::optional<LoadOptions> parse_load_options(const std::vector<std::string>& args,
                                              std::string* error, bool* help);

}  // namespace relay::load
