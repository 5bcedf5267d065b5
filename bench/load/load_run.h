#pragma once

#include <optional>
#include <string>

#include "bench/load/load_options.h"
#include "bench/load/load_report.h"

namespace relay::load {

/// Runs one load test: opens the subscribers, publishes, waits for the deliveries (until every
/// connected subscriber has every seq, or `drain_ms` after publishing ends with nothing arriving,
/// or the time limit), and fills a report. Returns nullopt and sets `*error` when the run could
/// not start (e.g. notify-service's /health unreachable). Call from one thread.
std::optional<LoadReport> run_load(const LoadOptions& options, std::string* error);

}  // namespace relay::load
