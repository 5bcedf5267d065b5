#include "bench/load/sse_load_runner.h"

#include <cstdio>
#include <optional>

#include <doctest/doctest.h>

#include "tests/support/child_process.h"

namespace relay::load {

using nlohmann::json;

RunResult run_sse_load(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  testing::ServiceProcess process("sse_load", SSE_LOAD_BIN, {});
  process.set_args(args);
  REQUIRE_MESSAGE(process.spawn(), process.diagnostics());
  std::optional<testing::ExitStatus> status = process.wait_exit(timeout);
  if (!status) status = process.kill9();
  RunResult result;
  result.exit_code = status->exited ? status->code : -1;
  for (const std::string& line : process.stdout_lines()) {
    if (line != testing::ServiceProcess::kSpawnMarker) result.output += line + "\n";
  }
  // What sse_load says on stderr goes to the test's stderr, as when it inherited it.
  std::fputs(process.stderr_text().c_str(), stderr);
  return result;
}

json last_json_line(const std::string& output) {
  size_t end = output.size();
  while (end > 0) {
    size_t start = output.rfind('\n', end - 1);
    start = start == std::string::npos ? 0 : start + 1;
    if (output.compare(start, 1, "{") == 0) {
      return json::parse(output.substr(start, end - start), nullptr, false);
    }
    if (start == 0) break;
    end = start - 1;
  }
  return json();
}

void check_one_drop_duplicate_reorder(const nlohmann::json& report, int subscribers, int messages) {
  CHECK(report["subscribers_connected"] == subscribers);
  CHECK(report["messages_published"] == messages);
  CHECK(report["deliveries"] == subscribers * messages - 1 + 1);  // one dropped, one repeated
  CHECK(report["missing"] == 1);
  CHECK(report["duplicated"] == 1);
  CHECK(report["out_of_order"] == 1);
  CHECK(report["subscribers_missing"] == 1);
  CHECK(report["subscribers_duplicated"] == 1);
  CHECK(report["subscribers_out_of_order"] == 1);
  CHECK(report["unexpected"] == 0);
}

}  // namespace relay::load
