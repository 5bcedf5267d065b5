#include "tests/support/child_process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <regex>
#include <sstream>

#include <doctest/doctest.h>

namespace relay::testing {

namespace {

constexpr size_t kKeptStdoutLines = 300;
constexpr size_t kKeptStderrBytes = 64 * 1024;

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

}  // namespace

TempDir::TempDir() {
  std::string pattern = env_or("TMPDIR", "/tmp") + "/relay-test-XXXXXX";
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  REQUIRE_MESSAGE(::mkdtemp(buffer.data()) != nullptr, "mkdtemp failed: " << std::strerror(errno));
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string TempDir::subdir(const std::string& name) const {
  std::string path = path_ + "/" + name;
  std::filesystem::create_directories(path);
  return path;
}

HeldPort::HeldPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd_ >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t length = sizeof addr;
  REQUIRE(::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  port_ = ntohs(addr.sin_port);
}

void HeldPort::release() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int reserve_free_port() {
  return HeldPort().port();  // bound, read, closed
}

std::string ExitStatus::describe() const {
  if (exited) return "exited with code " + std::to_string(code);
  return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
}

// ---- ServiceProcess ----

ServiceProcess::ServiceProcess(std::string name, std::string binary, Environment env)
    : name_(std::move(name)), binary_(std::move(binary)), env_(std::move(env)) {}

ServiceProcess::~ServiceProcess() {
  if (running()) kill9();
  join_reader();
}

bool ServiceProcess::spawn() {
  REQUIRE_MESSAGE(!running(), name_ << " is already running");
  join_reader();
  {
    std::lock_guard lock(mutex_);
    first_line_.clear();
    first_line_seen_ = false;
    output_closed_ = false;
    port_ = 0;
    last_lines_.push_back(kSpawnMarker);
  }
  exit_status_.reset();
  stopped_by_test_ = false;
  spawn_error_.clear();

  if (::access(binary_.c_str(), X_OK) != 0) {
    spawn_error_ = "binary not found or not executable: " + binary_ +
                   " (build the service targets, or set RELAY_*_SERVICE_BIN)";
    return false;
  }

  // Everything the child needs is prepared before fork(): after it, only async-signal-safe calls.
  Environment env = env_;
  for (const char* passthrough :
       {"ASAN_OPTIONS", "UBSAN_OPTIONS", "TSAN_OPTIONS", "LSAN_OPTIONS", "LLVM_PROFILE_FILE"}) {
    if (const char* value = std::getenv(passthrough); value != nullptr && !env.count(passthrough)) {
      env[passthrough] = value;
    }
  }
  std::vector<std::string> env_strings;
  for (const auto& [key, value] : env) env_strings.push_back(key + "=" + value);
  std::vector<char*> envp;
  for (auto& entry : env_strings) envp.push_back(entry.data());
  envp.push_back(nullptr);
  std::vector<std::string> arg_strings = {binary_};
  arg_strings.insert(arg_strings.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (auto& arg : arg_strings) argv.push_back(arg.data());
  argv.push_back(nullptr);

  int out_pipe[2];
  int err_pipe[2];
  if (::pipe2(out_pipe, O_CLOEXEC) != 0) {
    spawn_error_ = std::string("pipe2: ") + std::strerror(errno);
    return false;
  }
  if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
    spawn_error_ = std::string("pipe2: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(out_pipe[1]);
    return false;
  }
  int stdin_fd =
      ::open(stdin_path_.empty() ? "/dev/null" : stdin_path_.c_str(), O_RDONLY | O_CLOEXEC);
  rlimit files{};
  ::getrlimit(RLIMIT_NOFILE, &files);
  const int max_fd = files.rlim_cur == RLIM_INFINITY || files.rlim_cur > 65536
                         ? 65536
                         : static_cast<int>(files.rlim_cur);
  const pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid == 0) {
    // Child.
    ::dup2(stdin_fd, 0);
    ::dup2(out_pipe[1], 1);
    ::dup2(err_pipe[1], 2);
    // No descriptor of the test (sockets of open streams!) may leak into the service.
    if (::close_range(3, ~0U, 0) != 0) {
      for (int fd = 3; fd < max_fd; ++fd) ::close(fd);
    }
    // The test ignores SIGPIPE; the service must start with default dispositions and no mask.
    struct sigaction default_action {};
    default_action.sa_handler = SIG_DFL;
    for (int signal_number : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGCHLD, SIGQUIT}) {
      ::sigaction(signal_number, &default_action, nullptr);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(126);
    ::execve(argv[0], argv.data(), envp.data());
    const char message[] = "integration harness: execve failed\n";
    [[maybe_unused]] ssize_t ignored = ::write(2, message, sizeof message - 1);
    ::_exit(127);
  }
  ::close(out_pipe[1]);
  ::close(err_pipe[1]);
  if (stdin_fd >= 0) ::close(stdin_fd);
  if (pid < 0) {
    spawn_error_ = std::string("fork: ") + std::strerror(errno);
    ::close(out_pipe[0]);
    ::close(err_pipe[0]);
    return false;
  }
  pid_ = pid;
  reader_ = std::thread([this, out = out_pipe[0], err = err_pipe[0]] { read_output(out, err); });
  return true;
}

void ServiceProcess::read_output(int stdout_fd, int stderr_fd) {
  std::string partial;
  bool first_done = false;
  pollfd fds[2] = {{stdout_fd, POLLIN, 0}, {stderr_fd, POLLIN, 0}};
  int open_count = 2;
  char buffer[16384];
  static const std::regex kPort(R"((^|\s)port=(\d+)(\s|$))");
  while (open_count > 0) {
    int ready = ::poll(fds, 2, -1);
    if (ready < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open_count;
        continue;
      }
      std::lock_guard lock(mutex_);
      if (i == 1) {
        stderr_.append(buffer, static_cast<size_t>(n));
        if (stderr_.size() > kKeptStderrBytes) {
          stderr_.erase(0, stderr_.size() - kKeptStderrBytes);
        }
      } else {
        partial.append(buffer, static_cast<size_t>(n));
        size_t newline;
        while ((newline = partial.find('\n')) != std::string::npos) {
          std::string line = partial.substr(0, newline);
          partial.erase(0, newline + 1);
          if (!first_done) {
            first_done = true;
            first_line_ = line;
            first_line_seen_ = true;
            std::smatch match;
            if (std::regex_search(line, match, kPort)) port_ = std::stoi(match[2].str());
          }
          last_lines_.push_back(std::move(line));
          if (last_lines_.size() > kKeptStdoutLines) last_lines_.pop_front();
        }
      }
      output_changed_.notify_all();
    }
  }
  std::lock_guard lock(mutex_);
  if (!partial.empty()) last_lines_.push_back(partial + " [no newline]");
  output_closed_ = true;
  output_changed_.notify_all();
}

void ServiceProcess::join_reader() {
  if (reader_.joinable()) reader_.join();
}

bool ServiceProcess::start(Millis timeout) {
  if (!spawn()) return false;
  return wait_listening(timeout);
}

bool ServiceProcess::wait_listening(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    {
      std::unique_lock lock(mutex_);
      output_changed_.wait_for(lock, 50ms, [this] { return first_line_seen_ || output_closed_; });
      if (first_line_seen_) return port_ > 0;
      if (output_closed_) break;
    }
    if (!running()) break;
  }
  std::lock_guard lock(mutex_);
  return first_line_seen_ && port_ > 0;
}

int ServiceProcess::port() const {
  std::lock_guard lock(mutex_);
  return port_;
}

bool ServiceProcess::running() {
  if (pid_ <= 0 || exit_status_) return false;
  int status = 0;
  pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == 0) return true;
  ExitStatus exit;
  if (reaped == pid_) {
    exit.exited = WIFEXITED(status);
    exit.code = exit.exited ? WEXITSTATUS(status) : -1;
    exit.signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
  }
  exit_status_ = exit;
  return false;
}

void ServiceProcess::send_signal(int signal_number) {
  if (running()) ::kill(pid_, signal_number);
}

std::optional<ExitStatus> ServiceProcess::wait_exit(Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (running()) {
    if (Clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(5ms);  // waitpid(WNOHANG) has no timeout: poll
  }
  join_reader();
  return exit_status_;
}

void ServiceProcess::terminate() {
  stopped_by_test_ = true;
  send_signal(stop_signal_);
}

ExitStatus ServiceProcess::stop(Millis grace, Millis* took) {
  auto started = Clock::now();
  terminate();
  auto status = wait_exit(grace);
  if (took != nullptr) *took = std::chrono::duration_cast<Millis>(Clock::now() - started);
  if (!status) {
    {
      std::lock_guard lock(mutex_);
      last_lines_.push_back("---- harness: no exit within grace period after SIG" +
                            std::string(::sigabbrev_np(stop_signal_)) + "; SIGKILL ----");
    }
    send_signal(SIGKILL);
    status = wait_exit(60s);
  }
  return status.value_or(ExitStatus{});
}

ExitStatus ServiceProcess::kill9() {
  stopped_by_test_ = true;
  send_signal(SIGKILL);
  return wait_exit(60s).value_or(ExitStatus{});
}

std::string ServiceProcess::first_line() const {
  std::lock_guard lock(mutex_);
  return first_line_;
}

std::vector<std::string> ServiceProcess::stdout_lines() const {
  std::lock_guard lock(mutex_);
  return {last_lines_.begin(), last_lines_.end()};
}

std::string ServiceProcess::stderr_text() const {
  std::lock_guard lock(mutex_);
  return stderr_;
}

std::string ServiceProcess::diagnostics(size_t lines) const {
  std::ostringstream out;
  out << "==== " << name_ << " (" << binary_ << ") pid " << pid_ << ": ";
  if (!spawn_error_.empty()) {
    out << "NOT STARTED: " << spawn_error_;
  } else if (pid_ <= 0) {
    out << "not started by this test\n";
    return out.str();
  } else if (exit_status_) {
    out << exit_status_->describe()
        << (stopped_by_test_ ? " (stopped by the test)" : " (UNEXPECTED)");
  } else {
    out << "running";
  }
  std::lock_guard lock(mutex_);
  out << ", port " << port_ << "\n";
  if (!first_line_seen_) out << "  (no stdout line yet)\n";
  size_t skip = last_lines_.size() > lines ? last_lines_.size() - lines : 0;
  out << "  last stdout lines:\n";
  for (size_t i = skip; i < last_lines_.size(); ++i) out << "    " << last_lines_[i] << "\n";
  if (!stderr_.empty()) {
    std::string tail = stderr_.size() > 4000 ? stderr_.substr(stderr_.size() - 4000) : stderr_;
    out << "  stderr:\n" << tail << "\n";
  }
  return out.str();
}

}  // namespace relay::testing
