#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace relay::load {

/// Which server the streams are opened to: relay's notify-service (`GET /events`, JSON events,
/// `event: connected` first) or nginx + nchan (an EventSource subscriber location whose events
/// carry the published body as their data; see server_dialect.h).
enum class Target { kRelay, kNchan };

/// Which way messages are published: relay's `POST /notify` or `POST /messages`, or an nchan
/// publisher location.
enum class PublishPath { kNotify, kMessages, kNchan };

/// Everything sse_load is told on its command line, checked.
struct LoadOptions {
  Target target = Target::kRelay;
  int notify_port = 8081;   // notify-service on 127.0.0.1
  int message_port = 8080;  // message-service on 127.0.0.1
  int nchan_sub_port = 0;   // nchan's subscriber location (--target nchan)
  std::string nchan_sub_path;
  int nchan_pub_port = 0;  // nchan's publisher location (--target nchan)
  std::string nchan_pub_path;
  size_t subscribers = 100;  // 0 = publish only (POST throughput and latency)
  uint64_t messages = 100;
  PublishPath path = PublishPath::kNotify;
  size_t batch = 1;       // messages per POST /notify (notify path only)
  size_t publishers = 1;  // keep-alive connections, one POST in flight each
  double rate = 0;        // messages/s in total; 0 = as fast as possible
  double time_limit_s = 60;
  std::vector<int64_t> server_pids;  // summed for RSS and CPU; empty = no /proc sampling
  size_t max_connecting = 100;
  int64_t drain_ms = 2000;  // stop this long after publishing ends with no event arriving
  /// Open the streams and count what arrives, publishing nothing: one of several load processes
  /// (each may hold about 20,000 descriptors) whose messages another sse_load publishes. It says
  /// "sse_load: listening" on stderr once its streams are open, then stops when every stream has
  /// all `messages`, or `drain_ms` after the last event, or at the time limit.
  bool listen_only = false;
};

/// The usage text printed for --help and after a bad argument.
std::string load_usage();

/// Parses argv (without the program name). Returns nullopt and sets `*error` on a bad or unknown
/// argument. URLs must be http://127.0.0.1:<port>, nchan's with a path. `--target nchan` needs
/// --sub-url and --pub-url and publishes there (no --path, no --batch). Sets `*help` when --help
/// was given.
std::optional<LoadOptions> parse_load_options(const std::vector<std::string>& args,
                                              std::string* error, bool* help);

}  // namespace relay::load
