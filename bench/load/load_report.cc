#include "bench/load/load_report.h"

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace relay::load {

bool LoadReport::clean() const {
  return missing == 0 && duplicated == 0 && out_of_order == 0 && unexpected == 0 &&
         subscribers_failed == 0;
}

namespace {

std::string optional_text(const std::optional<double>& value) {
  return value ? fmt::format("{:.2f}", *value) : "n/a";
}

}  // namespace

std::string format_report_table(const LoadReport& r) {
  std::string out;
  auto row = [&out](std::string_view name, const std::string& value) {
    out += fmt::format("{:<28} {}\n", name, value);
  };
  row("target", r.target);
  row("subscribers connected", fmt::format("{} / {}", r.subscribers_connected, r.subscribers));
  row("subscribers failed", std::to_string(r.subscribers_failed));
  row("streams closed early", std::to_string(r.streams_closed));
  row("resets", std::to_string(r.resets));
  row("messages published", fmt::format("{} / {}", r.messages_published, r.messages));
  row("publish errors", std::to_string(r.publish_errors));
  row("publish rate msg/s", fmt::format("{:.1f}", r.publish_rate));
  row("POST latency p50 ms", fmt::format("{:.3f}", r.post_latency_p50_ms));
  row("POST latency p99 ms", fmt::format("{:.3f}", r.post_latency_p99_ms));
  row("deliveries", std::to_string(r.deliveries));
  row("deliveries/s", fmt::format("{:.0f}", r.deliveries_per_s));
  row("latency p50 ms", fmt::format("{:.3f}", r.latency_p50_ms));
  row("latency p99 ms", fmt::format("{:.3f}", r.latency_p99_ms));
  row("latency max ms", fmt::format("{:.3f}", r.latency_max_ms));
  row("missing", fmt::format("{} ({} subscribers)", r.missing, r.subscribers_missing));
  row("duplicated", fmt::format("{} ({} subscribers)", r.duplicated, r.subscribers_duplicated));
  row("out of order",
      fmt::format("{} ({} subscribers)", r.out_of_order, r.subscribers_out_of_order));
  row("unexpected seqs", std::to_string(r.unexpected));
  row("foreign events", std::to_string(r.foreign_events));
  row("server RSS KB/subscriber", optional_text(r.server_rss_kb_per_subscriber));
  row("server CPU us/delivery", optional_text(r.server_cpu_us_per_delivery));
  row("server CPU us/message", optional_text(r.server_cpu_us_per_post));
  row("elapsed s", fmt::format("{:.2f}{}", r.elapsed_s, r.time_limit_hit ? " (time limit)" : ""));
  return out;
}

std::string format_report_json(const LoadReport& r) {
  auto optional_json = [](const std::optional<double>& value) {
    return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
  };
  nlohmann::json json = {
      {"target", r.target},
      {"subscribers", r.subscribers},
      {"subscribers_connected", r.subscribers_connected},
      {"subscribers_failed", r.subscribers_failed},
      {"streams_closed", r.streams_closed},
      {"resets", r.resets},
      {"messages", r.messages},
      {"messages_published", r.messages_published},
      {"publish_errors", r.publish_errors},
      {"publish_rate", r.publish_rate},
      {"post_latency_p50_ms", r.post_latency_p50_ms},
      {"post_latency_p99_ms", r.post_latency_p99_ms},
      {"deliveries", r.deliveries},
      {"foreign_events", r.foreign_events},
      {"deliveries_per_s", r.deliveries_per_s},
      {"latency_p50_ms", r.latency_p50_ms},
      {"latency_p99_ms", r.latency_p99_ms},
      {"latency_max_ms", r.latency_max_ms},
      {"missing", r.missing},
      {"duplicated", r.duplicated},
      {"out_of_order", r.out_of_order},
      {"unexpected", r.unexpected},
      {"subscribers_missing", r.subscribers_missing},
      {"subscribers_duplicated", r.subscribers_duplicated},
      {"subscribers_out_of_order", r.subscribers_out_of_order},
      {"server_rss_kb_per_subscriber", optional_json(r.server_rss_kb_per_subscriber)},
      {"server_cpu_us_per_delivery", optional_json(r.server_cpu_us_per_delivery)},
      {"server_cpu_us_per_post", optional_json(r.server_cpu_us_per_post)},
      {"elapsed_s", r.elapsed_s},
      {"time_limit_hit", r.time_limit_hit},
  };
  return json.dump();
}

}  // namespace relay::load
