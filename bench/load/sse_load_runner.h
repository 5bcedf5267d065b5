#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace relay::load {

// Test support: runs the real sse_load binary (SSE_LOAD_BIN) and reads its report.

/// What one run of sse_load did: its exit code (-1 if killed) and its stdout.
struct RunResult {
  int exit_code = -1;
  std::string output;
};

/// Runs sse_load with `args` (and an environment of only the sanitizer options) as a
/// testing::ServiceProcess, capturing stdout (its last few hundred lines); kills it if it
/// outlives `timeout`.
RunResult run_sse_load(const std::vector<std::string>& args,
                       std::chrono::seconds timeout = std::chrono::seconds(60));

/// The last line of `output` that is a JSON object (sse_load's report), or null JSON.
nlohmann::json last_json_line(const std::string& output);

/// Checks (doctest CHECKs) that `report` covers `subscribers` streams and `messages` published,
/// with exactly one missing, one duplicated and one out-of-order event, each on one stream: what
/// the misbehaving fake servers commit on purpose.
void check_one_drop_duplicate_reorder(const nlohmann::json& report, int subscribers, int messages);

}  // namespace relay::load
