#include "bench/load/sse_load_runner.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <doctest/doctest.h>

namespace relay::load {

using nlohmann::json;

RunResult run_sse_load(const std::vector<std::string>& args, std::chrono::seconds timeout) {
  RunResult result;
  int pipe_fds[2];
  REQUIRE(pipe(pipe_fds) == 0);
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    dup2(pipe_fds[1], STDOUT_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<char*> argv;
    std::string program = SSE_LOAD_BIN;
    argv.push_back(program.data());
    std::vector<std::string> copies = args;
    for (std::string& arg : copies) argv.push_back(arg.data());
    argv.push_back(nullptr);
    execv(program.c_str(), argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  char buffer[4096];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd readable{pipe_fds[0], POLLIN, 0};
    if (poll(&readable, 1, 100) <= 0) continue;
    ssize_t got = read(pipe_fds[0], buffer, sizeof(buffer));
    if (got <= 0) break;
    result.output.append(buffer, static_cast<size_t>(got));
  }
  close(pipe_fds[0]);
  if (std::chrono::steady_clock::now() >= deadline) kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
