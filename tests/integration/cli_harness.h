#pragma once

// Runs the real `relay` command-line client as a child process for cli_test.cc, on top of the
// harness's ServiceProcess (which pipes and drains its stdout and stderr).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tests/integration/harness.h"

namespace relay::itest {

/// $RELAY_CLI_BIN when set, else the path CMake compiled in.
std::string relay_cli_binary();

/// The environment of a `relay` run against `relay`'s services as `user`: RELAY_MESSAGE_URL,
/// RELAY_NOTIFY_URL, RELAY_USER, and TZ=UTC so printed times are predictable.
Environment cli_env(const Relay& relay, const std::string& user);

/// How one finished `relay` run ended and what it printed.
struct CliRun {
  ExitStatus status;
  std::vector<std::string> out_lines;
  std::string out;  // out_lines joined, each with its newline
  std::string err;

  /// Exit status, stdout and stderr, for failure messages.
  std::string describe() const;
};

/// Runs `relay args...` to its end with stdin from `stdin_text` (nothing: /dev/null); SIGKILLs it
/// and FAILs the test when it has not ended within `timeout`.
CliRun run_cli(const std::vector<std::string>& args, const Environment& env,
               const std::optional<std::string>& stdin_text = std::nullopt,
               Millis timeout = kPatience);

/// A `relay` that keeps running (listen) while the test watches its output. Killed (SIGKILL) on
/// destruction if it still runs. Drive it from the test's main thread.
class CliProcess {
 public:
  /// Starts `relay args...`; REQUIREs that it could be started.
  CliProcess(const std::vector<std::string>& args, const Environment& env);
  CliProcess(const CliProcess&) = delete;
  CliProcess& operator=(const CliProcess&) = delete;

  ServiceProcess& process() { return process_; }
  /// The stdout lines printed so far (the last few hundred).
  std::vector<std::string> lines() const;
  std::string err() const { return process_.stderr_text(); }
  /// Waits until stderr contains `text`.
  bool wait_err(const std::string& text, Millis timeout = kPatience);
  /// Waits until some stdout line contains `text`.
  bool wait_line(const std::string& text, Millis timeout = kPatience);
  /// Waits until at least `count` stdout lines were printed.
  bool wait_line_count(size_t count, Millis timeout = kPatience);
  /// stdout lines and stderr, for failure messages.
  std::string describe() const;

 private:
  ServiceProcess process_;
};

}  // namespace relay::itest
