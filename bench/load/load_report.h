#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace relay::load {

/// The outcome of one run, as printed.
struct LoadReport {
  std::string target;  // "relay" or "nchan"
  uint64_t subscribers = 0;
  uint64_t subscribers_connected = 0;
  uint64_t subscribers_failed = 0;  // never got `event: connected`
  uint64_t streams_closed = 0;      // ended after connecting
  uint64_t resets = 0;              // `event: reset` received
  uint64_t messages = 0;
  uint64_t messages_published = 0;
  uint64_t publish_errors = 0;
  double publish_rate = 0;         // messages/s achieved, first POST start to last end
  double post_latency_p50_ms = 0;  // one POST, call start to response
  double post_latency_p99_ms = 0;
  uint64_t deliveries = 0;      // message events with a load stamp, duplicates included
  uint64_t foreign_events = 0;  // message events without one (ignored)
  double deliveries_per_s = 0;
  double latency_p50_ms = 0;
  double latency_p99_ms = 0;
  double latency_max_ms = 0;
  uint64_t missing = 0;
  uint64_t duplicated = 0;
  uint64_t out_of_order = 0;
  uint64_t unexpected = 0;  // seqs outside [0, messages)
  uint64_t subscribers_missing = 0;
  uint64_t subscribers_duplicated = 0;
  uint64_t subscribers_out_of_order = 0;
  std::optional<double> server_rss_kb_per_subscriber;
  std::optional<double> server_cpu_us_per_delivery;
  std::optional<double> server_cpu_us_per_post;  // the same CPU over messages published
  double elapsed_s = 0;
  bool time_limit_hit = false;

  /// True when every connected subscriber got every message exactly once, in order, and every
  /// subscriber connected.
  bool clean() const;
};

/// A human-readable table, one "name  value" row per line.
std::string format_report_table(const LoadReport& report);

/// The same as one JSON object on one line (no trailing newline); absent optionals are null.
std::string format_report_json(const LoadReport& report);

}  // namespace relay::load
