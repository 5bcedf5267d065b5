// relay: the command-line client of message-service and notify-service (see cli/README.md).
#include <cstdio>
#include <string>
#include <variant>
#include <vector>

#include "cli/commands.h"
#include "cli/failure.h"
#include "cli/usage.h"

int main(int argc, char** argv) {
  using namespace relay::cli;
  std::vector<std::string> args(argv + 1, argv + argc);
  ParsedCommandLine parsed = parse_command_line(args, read_environment());
  if (auto* help = std::get_if<ShowHelp>(&parsed)) {
    std::fputs(help_text(help->command).c_str(), stdout);
    return 0;
  }
  if (std::holds_alternative<ShowVersion>(parsed)) {
    std::fputs(version_text().c_str(), stdout);
    return 0;
  }
  if (auto* error = std::get_if<UsageError>(&parsed)) {
    std::string prefix = error->command ? std::string(command_name(*error->command)) + ": " : "";
    std::string hint;  // appended, not `" " + std::string(...)`: GCC 12 -O3 false -Wrestrict
    if (error->command) hint.append(" ").append(command_name(*error->command));
    print_notice(prefix + error->message + " (see 'relay" + hint + " --help')");
    return to_int(ExitCode::kUsage);
  }
  return to_int(run_command(std::get<Options>(parsed)));
}
