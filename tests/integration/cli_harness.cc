#include "tests/integration/cli_harness.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <doctest/doctest.h>

namespace relay::itest {

namespace {

// ServiceProcess's lines of the current run: those after its last "---- spawn ----" marker.
std::vector<std::string> current_run_lines(const ServiceProcess& process) {
  std::vector<std::string> all = process.stdout_lines();
  std::vector<std::string> lines;
  for (auto& line : all) {
    if (line == "---- spawn ----") {
      lines.clear();
    } else {
      lines.push_back(std::move(line));
    }
  }
  return lines;
}

}  // namespace

std::string relay_cli_binary() {
  const char* value = std::getenv("RELAY_CLI_BIN");
  return (value != nullptr && *value != '\0') ? value : RELAY_CLI_BIN;
}

Environment cli_env(const Relay& relay, const std::string& user) {
  return {
      {"RELAY_MESSAGE_URL", "http://127.0.0.1:" + std::to_string(relay.message_port())},
      {"RELAY_NOTIFY_URL", "http://127.0.0.1:" + std::to_string(relay.notify_port())},
      {"RELAY_USER", user},
      {"TZ", "UTC"},
  };
}

std::string CliRun::describe() const {
  return "relay " + status.describe() + "\n  stdout:\n" + out + "  stderr:\n" + err;
}

CliRun run_cli(const std::vector<std::string>& args, const Environment& env,
               const std::optional<std::string>& stdin_text, Millis timeout) {
  std::optional<TempDir> dir;
  ServiceProcess process("relay", relay_cli_binary(), env);
  process.set_args(args);
  if (stdin_text) {
    dir.emplace();
    std::string path = dir->path() + "/stdin";
    std::ofstream(path, std::ios::binary) << *stdin_text;
    process.set_stdin_file(path);
  }
  REQUIRE_MESSAGE(process.spawn(), process.diagnostics());
  std::optional<ExitStatus> status = process.wait_exit(timeout);
  if (!status) {
    process.kill9();
    FAIL("relay did not end within the time limit:\n" << process.diagnostics());
  }
  CliRun run;
  run.status = *status;
  run.out_lines = current_run_lines(process);
  for (const auto& line : run.out_lines) run.out += line + "\n";
  run.err = process.stderr_text();
  return run;
}

CliProcess::CliProcess(const std::vector<std::string>& args, const Environment& env)
    : process_("relay", relay_cli_binary(), env) {
  process_.set_args(args);
  REQUIRE_MESSAGE(process_.spawn(), process_.diagnostics());
}

std::vector<std::string> CliProcess::lines() const {
  return current_run_lines(process_);
}

bool CliProcess::wait_err(const std::string& text, Millis timeout) {
  return eventually([&] { return err().find(text) != std::string::npos; }, timeout);
}

bool CliProcess::wait_line(const std::string& text, Millis timeout) {
  return eventually(
      [&] {
        for (const auto& line : lines()) {
          if (line.find(text) != std::string::npos) return true;
        }
        return false;
      },
      timeout);
}

bool CliProcess::wait_line_count(size_t count, Millis timeout) {
  return eventually([&] { return lines().size() >= count; }, timeout);
}

std::string CliProcess::describe() const {
  std::ostringstream out;
  out << "relay listener pid " << process_.pid() << "\n  stdout:\n";
  for (const auto& line : lines()) out << "    " << line << "\n";
  out << "  stderr:\n" << err();
  return out.str();
}

}  // namespace relay::itest
