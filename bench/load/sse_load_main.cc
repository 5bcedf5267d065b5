// sse_load: opens many SSE streams to notify-service, publishes numbered messages and reports
// delivery rate, end-to-end latency and any missing / duplicated / out-of-order events.
// Exit codes: 0 ran clean, 1 an event was missing/duplicated/out of order (or the run could not
// complete), 2 bad arguments.

#include <cstdio>
#include <string>
#include <vector>

#include "bench/load/load_options.h"
#include "bench/load/load_report.h"
#include "bench/load/load_run.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  std::string error;
  bool help = false;
  auto options = relay::load::parse_load_options(args, &error, &help);
  if (help) {
    std::fputs(relay::load::load_usage().c_str(), stdout);
    return 0;
  }
  if (!options) {
    std::fprintf(stderr, "sse_load: %s\n%s", error.c_str(), relay::load::load_usage().c_str());
    return 2;
  }
  auto report = relay::load::run_load(*options, &error);
  if (!report) {
    std::fprintf(stderr, "sse_load: %s\n", error.c_str());
    return 1;
  }
  std::fputs(relay::load::format_report_table(*report).c_str(), stdout);
  std::printf("%s\n", relay::load::format_report_json(*report).c_str());
  return report->clean() ? 0 : 1;
}
