#include "tests/integration/harness.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include <doctest/doctest.h>

#include "shared/validation.h"

namespace relay::itest {

namespace {

constexpr size_t kKeptStdoutLines = 300;
constexpr size_t kKeptStderrBytes = 64 * 1024;
constexpr size_t kRawPrefixBytes = 64 * 1024;

std::string env_or(const char* name, const char* fallback) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : fallback;
}

std::string lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

std::string trim(std::string_view text) {
  size_t start = text.find_first_not_of(" \t");
  if (start == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(start, end - start + 1));
}

int connect_loopback(int port, int receive_buffer_bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  if (receive_buffer_bytes > 0) {
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer_bytes, sizeof receive_buffer_bytes);
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

bool send_all_fd(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

// ---- small helpers ----

bool eventually(const std::function<bool()>& condition, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(20ms);
  }
}

std::string message_service_binary() {
  return env_or("RELAY_MESSAGE_SERVICE_BIN", RELAY_MESSAGE_SERVICE_BIN);
}

std::string notify_service_binary() {
  return env_or("RELAY_NOTIFY_SERVICE_BIN", RELAY_NOTIFY_SERVICE_BIN);
}

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

int reserve_free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t length = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
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
    last_lines_.push_back("---- spawn ----");
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
    std::this_thread::sleep_for(5ms);
  }
  join_reader();
  return exit_status_;
}

void ServiceProcess::terminate() {
  stopped_by_test_ = true;
  send_signal(SIGTERM);
}

ExitStatus ServiceProcess::stop(Millis grace, Millis* took) {
  auto started = Clock::now();
  terminate();
  auto status = wait_exit(grace);
  if (took != nullptr) *took = std::chrono::duration_cast<Millis>(Clock::now() - started);
  if (!status) {
    {
      std::lock_guard lock(mutex_);
      last_lines_.push_back(
          "---- harness: no exit within grace period after SIGTERM; SIGKILL ----");
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

// ---- HTTP ----

std::string HttpResponse::header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (lower(key) == lower(name)) return value;
  }
  return {};
}

bool HttpResponse::has_header(const std::string& name) const {
  for (const auto& entry : headers) {
    if (lower(entry.first) == lower(name)) return true;
  }
  return false;
}

Json HttpResponse::json() const {
  return Json::parse(body, nullptr, false);
}

std::string HttpResponse::describe() const {
  if (status == 0) return "no response: " + error;
  std::string shown = body.size() > 600 ? body.substr(0, 600) + "..." : body;
  return "status " + std::to_string(status) + " body " + shown;
}

namespace {

HttpResponse to_response(const httplib::Result& result) {
  HttpResponse response;
  if (!result) {
    response.error = httplib::to_string(result.error());
    return response;
  }
  response.status = result->status;
  response.body = result->body;
  response.headers = result->headers;
  return response;
}

std::unique_ptr<httplib::Client> make_client(int port, Millis timeout) {
  auto client = std::make_unique<httplib::Client>("127.0.0.1", port);
  auto seconds = std::chrono::duration_cast<std::chrono::seconds>(timeout);
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(timeout - seconds);
  client->set_connection_timeout(seconds.count(), micros.count());
  client->set_read_timeout(seconds.count(), micros.count());
  client->set_write_timeout(seconds.count(), micros.count());
  client->set_keep_alive(false);
  return client;
}

}  // namespace

HttpResponse HttpClient::get(const std::string& path, const httplib::Headers& headers) const {
  return to_response(make_client(port_, timeout_)->Get(path, headers));
}

HttpResponse HttpClient::post(const std::string& path, const std::string& body,
                              const std::string& content_type,
                              const httplib::Headers& headers) const {
  return to_response(make_client(port_, timeout_)->Post(path, headers, body, content_type));
}

HttpResponse HttpClient::post_json(const std::string& path, const Json& body,
                                   const httplib::Headers& headers) const {
  return post(path, body.dump(), "application/json", headers);
}

HttpResponse HttpClient::del(const std::string& path) const {
  return to_response(make_client(port_, timeout_)->Delete(path));
}

HttpResponse HttpClient::options(const std::string& path) const {
  return to_response(make_client(port_, timeout_)->Options(path));
}

// ---- RawSocket ----

RawSocket::RawSocket(int port, int receive_buffer_bytes)
    : fd_(connect_loopback(port, receive_buffer_bytes)) {}

RawSocket::~RawSocket() {
  close();
}

void RawSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool RawSocket::send_all(std::string_view bytes) {
  return fd_ >= 0 && send_all_fd(fd_, bytes);
}

ssize_t RawSocket::receive_before(Clock::time_point deadline, char* buffer, size_t size) {
  while (fd_ >= 0) {
    auto left = std::chrono::duration_cast<Millis>(deadline - Clock::now()).count();
    if (left <= 0) return -1;
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, static_cast<int>(std::min<long>(left, 100)));
    if (ready < 0 && errno != EINTR) return 0;
    if (ready <= 0) continue;
    ssize_t n = ::recv(fd_, buffer, size, 0);
    if (n < 0 && errno == EINTR) continue;
    return n < 0 ? 0 : n;
  }
  return -1;
}

std::string RawSocket::read_some(Millis timeout, size_t max_bytes) {
  std::string out;
  auto deadline = Clock::now() + timeout;
  char buffer[16384];
  while (out.size() < max_bytes) {
    ssize_t n = receive_before(deadline, buffer, sizeof buffer);
    if (n <= 0) break;
    out.append(buffer, static_cast<size_t>(n));
  }
  return out;
}

bool RawSocket::drain_until_eof(Millis timeout, size_t* bytes_read) {
  auto deadline = Clock::now() + timeout;
  char buffer[65536];
  size_t total = 0;
  ssize_t n;
  while ((n = receive_before(deadline, buffer, sizeof buffer)) > 0) total += static_cast<size_t>(n);
  if (bytes_read != nullptr) *bytes_read = total;
  return n == 0;  // orderly close or reset: either way the server let go
}

// ---- Relay ----

namespace {

Environment merged(Environment base, const Environment& overrides) {
  for (const auto& [key, value] : overrides) base[key] = value;
  return base;
}

}  // namespace

Relay::Relay(RelayOptions options)
    : data_dir_(dir_.subdir("data")),
      notify_port_(reserve_free_port()),
      message_("message-service", message_service_binary(), {}),
      notify_("notify-service", notify_service_binary(), {}) {
  message_.env() = merged(
      {
          {"PORT", "0"},
          {"BIND_ADDRESS", "127.0.0.1"},
          {"DATA_DIR", data_dir_},
          {"NOTIFICATION_SERVICE_URL", "http://127.0.0.1:" + std::to_string(notify_port_)},
          {"FORWARD_RETRY_MAX_MS", "200"},
      },
      options.message_env);
  if (options.start_message) {
    start_message();
  } else {
    message_port_ = reserve_free_port();  // nobody listens here: history is unreachable
  }
  notify_.env() = merged(
      {
          {"PORT", std::to_string(notify_port_)},
          {"BIND_ADDRESS", "127.0.0.1"},
          {"MESSAGE_SERVICE_URL", "http://127.0.0.1:" + std::to_string(message_port_)},
      },
      options.notify_env);
  if (options.start_notify) start_notify();
}

Relay::~Relay() {
  if (std::uncaught_exceptions() == 0) {
    for (ServiceProcess* service : {&message_, &notify_}) {
      service->running();  // reap, so a crash is noticed
      if (service->exited_unexpectedly()) {
        FAIL_CHECK(service->name() << " exited while the test did not expect it:\n"
                                   << service->diagnostics());
      }
    }
  }
  // Members' destructors kill what still runs.
}

void Relay::start_message() {
  bool first_start = message_port_ == 0;
  INFO(message_.diagnostics());
  REQUIRE_MESSAGE(message_.start(), "message-service did not start");
  if (first_start) {
    message_port_ = message_.port();
    message_.env()["PORT"] = std::to_string(message_port_);  // restarts reuse the port
  } else {
    REQUIRE(message_.port() == message_port_);
  }
}

void Relay::start_notify() {
  INFO(notify_.diagnostics());
  REQUIRE_MESSAGE(notify_.start(), "notify-service did not start");
  REQUIRE(notify_.port() == notify_port_);
}

std::string Relay::diagnostics() const {
  return message_.diagnostics() + notify_.diagnostics();
}

// ---- message helpers ----

Json post_message(const HttpClient& http, const Json& body, const httplib::Headers& headers) {
  HttpResponse response = http.post_json("/messages", body, headers);
  REQUIRE_MESSAGE(response.status == 201,
                  "POST /messages " << body.dump() << ": " << response.describe());
  Json message = response.json();
  REQUIRE_MESSAGE(message.is_object(), response.describe());
  return message;
}

Json wire_message(int64_t id, const std::string& content, const std::string& channel,
                  const std::string& user, const std::string& to) {
  Json message = {{"id", std::to_string(id)},
                  {"content", content},
                  {"user", user},
                  {"channel", channel},
                  {"timestamp", "2026-11-23T15:22:03.123Z"}};
  if (!to.empty()) message["to"] = to;
  return message;
}

int64_t id_of(const Json& message) {
  REQUIRE_MESSAGE(message.contains("id"), message.dump());
  REQUIRE_MESSAGE(message["id"].is_string(), "id must be a string: " << message.dump());
  auto id = parse_non_negative(message["id"].get<std::string>());
  REQUIRE_MESSAGE(id.has_value(), "id must be digits: " << message.dump());
  return *id;
}

bool wait_notify_has(const HttpClient& notify, int64_t id, Millis timeout) {
  return eventually(
      [&] {
        HttpResponse health = notify.get("/health");
        if (health.status != 200) return false;
        Json body = health.json();
        if (!body.is_object() || !body.contains("last_event_id")) return false;
        const Json& last = body["last_event_id"];
        std::optional<int64_t> value;
        if (last.is_string()) value = parse_non_negative(last.get<std::string>());
        if (last.is_number_integer()) value = last.get<int64_t>();
        return value && *value >= id;
      },
      timeout);
}

std::optional<double> metric_value(const std::string& prometheus_text, const std::string& name) {
  std::istringstream lines(prometheus_text);
  std::string line;
  std::optional<double> sum;
  while (std::getline(lines, line)) {
    if (line.empty() || line[0] == '#') continue;
    size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string::npos || line.substr(0, name_end) != name) continue;
    size_t value_start = line[name_end] == '{' ? line.find("} ", name_end) : name_end;
    if (value_start == std::string::npos) continue;
    value_start = line.find_first_not_of(" }", value_start);
    if (value_start == std::string::npos) continue;
    try {
      sum = sum.value_or(0) + std::stod(line.substr(value_start));
    } catch (...) {
    }
  }
  return sum;
}

long rss_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

std::string compare_ids(const std::vector<int64_t>& got, const std::vector<int64_t>& expected) {
  if (got == expected) return {};
  std::ostringstream out;
  out << "got " << got.size() << " ids, expected " << expected.size() << ".";
  for (size_t i = 0; i < std::min(got.size(), expected.size()); ++i) {
    if (got[i] != expected[i]) {
      out << " First difference at index " << i << ": got " << got[i] << ", expected "
          << expected[i] << ".";
      break;
    }
  }
  std::set<int64_t> seen;
  std::vector<int64_t> duplicates;
  size_t out_of_order = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!seen.insert(got[i]).second) duplicates.push_back(got[i]);
    if (i > 0 && got[i] <= got[i - 1]) ++out_of_order;
  }
  std::set<int64_t> wanted(expected.begin(), expected.end());
  std::vector<int64_t> missing;
  std::vector<int64_t> unexpected;
  for (int64_t id : wanted) {
    if (!seen.count(id)) missing.push_back(id);
  }
  for (int64_t id : seen) {
    if (!wanted.count(id)) unexpected.push_back(id);
  }
  auto list = [&out](const char* what, const std::vector<int64_t>& ids) {
    if (ids.empty()) return;
    out << " " << ids.size() << " " << what << ":";
    for (size_t i = 0; i < std::min<size_t>(ids.size(), 20); ++i) out << " " << ids[i];
    if (ids.size() > 20) out << " ...";
    out << ".";
  };
  list("duplicated", duplicates);
  list("missing", missing);
  list("unexpected", unexpected);
  if (out_of_order > 0) out << " " << out_of_order << " not in increasing order.";
  return out.str();
}

// ---- SseStream ----

namespace {

// Decodes a chunked transfer-encoded body incrementally.
class ChunkedDecoder {
 public:
  // Appends decoded bytes of `input` to `out`. Returns false on a framing error.
  bool feed(std::string_view input, std::string* out) {
    buffer_.append(input);
    while (true) {
      if (state_ == State::kSize || state_ == State::kTrailer) {
        size_t line_end = buffer_.find("\r\n");
        if (line_end == std::string::npos) return buffer_.size() < 4096;
        std::string line = buffer_.substr(0, line_end);
        buffer_.erase(0, line_end + 2);
        if (state_ == State::kTrailer) {
          if (line.empty()) state_ = State::kDone;
          if (state_ == State::kDone) return true;
          continue;
        }
        line = line.substr(0, line.find(';'));
        char* end = nullptr;
        remaining_ = std::strtoull(line.c_str(), &end, 16);
        if (line.empty() || end == nullptr || *end != '\0') return false;
        state_ = remaining_ == 0 ? State::kTrailer : State::kData;
      } else if (state_ == State::kData) {
        if (buffer_.empty()) return true;
        size_t take = std::min<size_t>(remaining_, buffer_.size());
        out->append(buffer_, 0, take);
        buffer_.erase(0, take);
        remaining_ -= take;
        if (remaining_ == 0) state_ = State::kDataEnd;
      } else if (state_ == State::kDataEnd) {
        if (buffer_.size() < 2) return true;
        if (buffer_.compare(0, 2, "\r\n") != 0) return false;
        buffer_.erase(0, 2);
        state_ = State::kSize;
      } else {
        return true;  // kDone: ignore anything after the last chunk
      }
    }
  }
  bool done() const { return state_ == State::kDone; }

 private:
  enum class State { kSize, kData, kDataEnd, kTrailer, kDone };
  State state_ = State::kSize;
  std::string buffer_;
  size_t remaining_ = 0;
};

}  // namespace

SseStream::SseStream(int port, std::string target, httplib::Headers headers)
    : port_(port),
      target_(std::move(target)),
      request_headers_(std::move(headers)),
      parser_([this](const SseEvent& event) { on_event(event); }) {
  fd_ = connect_loopback(port_, 0);
  reader_ = std::thread([this] { run(); });
}

SseStream::~SseStream() {
  stop();
}

void SseStream::request_stop() {
  stop_requested_ = true;
  if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // wakes the reader's poll at once
}

void SseStream::stop() {
  request_stop();
  if (reader_.joinable()) reader_.join();
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void SseStream::finish(std::string error) {
  std::lock_guard lock(mutex_);
  ended_ = true;
  if (error_.empty()) error_ = std::move(error);
  changed_.notify_all();
}

bool SseStream::parse_head(const std::string& head) {
  std::istringstream lines(head);
  std::string status_line;
  std::getline(lines, status_line);
  static const std::regex kStatus(R"(HTTP/1\.[01] (\d{3})( .*)?\r?)");
  std::smatch match;
  if (!std::regex_match(status_line, match, kStatus)) return false;
  std::lock_guard lock(mutex_);
  status_ = std::stoi(match[1].str());
  std::string line;
  while (std::getline(lines, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    headers_[lower(trim(line.substr(0, colon)))] = trim(line.substr(colon + 1));
  }
  head_done_ = true;
  changed_.notify_all();
  return true;
}

void SseStream::run() {
  if (fd_ < 0) {
    finish("could not connect to 127.0.0.1:" + std::to_string(port_));
    return;
  }
  std::string request = "GET " + target_ + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port_) +
                        "\r\nAccept: text/event-stream\r\n";
  for (const auto& [name, value] : request_headers_) request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (!send_all_fd(fd_, request)) {
    finish("could not send the request");
    return;
  }

  std::string head;
  bool in_body = false;
  bool chunked = false;
  std::optional<size_t> content_left;
  ChunkedDecoder decoder;
  char buffer[65536];
  while (!stop_requested_) {
    pollfd pfd{fd_, POLLIN, 0};
    int ready = ::poll(&pfd, 1, 100);
    if (ready < 0 && errno != EINTR) {
      finish(std::string("poll: ") + std::strerror(errno));
      return;
    }
    if (ready <= 0) continue;
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      finish(stop_requested_ ? "" : std::string("recv: ") + std::strerror(errno));
      return;
    }
    if (n == 0) {
      bool complete = in_body && ((chunked && decoder.done()) || (!chunked && !content_left) ||
                                  (content_left && *content_left == 0));
      finish(in_body ? (complete || stop_requested_ ? "" : "connection closed mid-body")
                     : "connection closed before the response head");
      return;
    }
    std::string_view data(buffer, static_cast<size_t>(n));
    if (!in_body) {
      head.append(data);
      size_t head_end = head.find("\r\n\r\n");
      if (head_end == std::string::npos) {
        if (head.size() > 65536) {
          finish("response head too large");
          return;
        }
        continue;
      }
      std::string rest = head.substr(head_end + 4);
      head.resize(head_end + 2);
      if (!parse_head(head)) {
        finish("malformed status line: " + head.substr(0, head.find('\r')));
        return;
      }
      in_body = true;
      chunked = lower(header("transfer-encoding")).find("chunked") != std::string::npos;
      if (!chunked && !header("content-length").empty()) {
        content_left = std::strtoull(header("content-length").c_str(), nullptr, 10);
      }
      if (rest.empty() && !(content_left && *content_left == 0)) continue;
      head = std::move(rest);
      data = head;
    }
    std::string decoded;
    if (chunked) {
      if (!decoder.feed(data, &decoded)) {
        finish("malformed chunked encoding");
        return;
      }
    } else if (content_left) {
      size_t take = std::min(*content_left, data.size());
      decoded.assign(data.substr(0, take));
      *content_left -= take;
    } else {
      decoded.assign(data);
    }
    if (!decoded.empty()) on_body(decoded);
    if ((chunked && decoder.done()) || (content_left && *content_left == 0)) {
      finish("");
      return;
    }
  }
  finish("");
}

void SseStream::on_body(std::string_view bytes) {
  {
    std::lock_guard lock(mutex_);
    if (raw_prefix_.size() < kRawPrefixBytes) {
      raw_prefix_.append(bytes.substr(0, kRawPrefixBytes - raw_prefix_.size()));
    }
    if (status_ != 200) {
      body_.append(bytes);
      changed_.notify_all();
      return;
    }
  }
  parser_.feed(bytes);
  std::lock_guard lock(mutex_);
  comments_ = parser_.comment_count();
  retry_ms_ = parser_.retry_ms();
  changed_.notify_all();
}

void SseStream::on_event(const SseEvent& event) {
  std::lock_guard lock(mutex_);
  // What preceded this event in the same chunk is visible to whoever wakes up for it.
  comments_ = parser_.comment_count();
  retry_ms_ = parser_.retry_ms();
  events_.push_back(event);
  if (event.event == "connected") connected_ = true;
  if (event.event == "message") {
    StreamMessage message;
    auto id = parse_non_negative(event.id);
    if (!event.has_id || !id) {
      problems_.push_back("message event without a numeric id: id='" + event.id + "'");
    } else {
      message.id = *id;
    }
    message.data = Json::parse(event.data, nullptr, false);
    if (!message.data.is_object()) {
      problems_.push_back("message event " + event.id +
                          " data is not a JSON object: " + event.data.substr(0, 200));
    } else {
      if (message.data.value("id", std::string()) != event.id) {
        problems_.push_back("message event " + event.id + " has data id " +
                            message.data.value("id", Json()).dump());
      }
      if (message.data.value("type", std::string()) != "message") {
        problems_.push_back("message event " + event.id + " lacks \"type\":\"message\"");
      }
    }
    messages_.push_back(std::move(message));
  }
  changed_.notify_all();
}

bool SseStream::wait_until(const std::function<bool()>& condition, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return condition();
    std::unique_lock lock(mutex_);
    changed_.wait_for(lock, 50ms);
  }
}

bool SseStream::wait_connected(Millis timeout) {
  wait_until(
      [this] {
        std::lock_guard lock(mutex_);
        return ended_ || connected_ || (head_done_ && status_ != 200);
      },
      timeout);
  if (status() != 200) {
    // A refusal: wait for its (short) body too, so body() is complete.
    wait_ended(5s);
    return false;
  }
  std::lock_guard lock(mutex_);
  return connected_;
}

bool SseStream::wait_messages(size_t count, Millis timeout) {
  return wait_until([this, count] { return message_count() >= count; }, timeout);
}

bool SseStream::wait_message_id(int64_t id, Millis timeout) {
  return wait_until(
      [this, id] {
        std::lock_guard lock(mutex_);
        return std::any_of(messages_.begin(), messages_.end(),
                           [id](const StreamMessage& m) { return m.id >= id; });
      },
      timeout);
}

bool SseStream::wait_ended(Millis timeout) {
  return wait_until([this] { return ended(); }, timeout);
}

int SseStream::status() const {
  std::lock_guard lock(mutex_);
  return status_;
}

std::string SseStream::header(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = headers_.find(lower(name));
  return it == headers_.end() ? std::string() : it->second;
}

std::string SseStream::body() const {
  std::lock_guard lock(mutex_);
  return body_;
}

std::string SseStream::raw_prefix() const {
  std::lock_guard lock(mutex_);
  return raw_prefix_;
}

std::vector<SseEvent> SseStream::events() const {
  std::lock_guard lock(mutex_);
  return events_;
}

std::vector<StreamMessage> SseStream::messages() const {
  std::lock_guard lock(mutex_);
  return messages_;
}

std::vector<int64_t> SseStream::message_ids() const {
  std::lock_guard lock(mutex_);
  std::vector<int64_t> ids;
  ids.reserve(messages_.size());
  for (const auto& message : messages_) ids.push_back(message.id);
  return ids;
}

size_t SseStream::message_count() const {
  std::lock_guard lock(mutex_);
  return messages_.size();
}

size_t SseStream::count_events(const std::string& type) const {
  std::lock_guard lock(mutex_);
  return static_cast<size_t>(std::count_if(events_.begin(), events_.end(),
                                           [&type](const SseEvent& e) { return e.event == type; }));
}

size_t SseStream::comment_count() const {
  std::lock_guard lock(mutex_);
  return comments_;
}

int SseStream::retry_ms() const {
  std::lock_guard lock(mutex_);
  return retry_ms_;
}

bool SseStream::ended() const {
  std::lock_guard lock(mutex_);
  return ended_;
}

std::string SseStream::error() const {
  std::lock_guard lock(mutex_);
  return error_;
}

std::vector<std::string> SseStream::problems() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

std::string SseStream::describe() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "stream GET " << target_ << ": status " << status_ << ", " << events_.size() << " events, "
      << messages_.size() << " messages";
  if (!messages_.empty()) {
    out << " (ids " << messages_.front().id << ".." << messages_.back().id << ")";
  }
  out << ", " << comments_ << " comments, " << (ended_ ? "ended" : "open");
  if (!error_.empty()) out << ", error: " << error_;
  if (!problems_.empty()) out << ", " << problems_.size() << " problems, first: " << problems_[0];
  if (!body_.empty()) out << ", body: " << body_.substr(0, 300);
  if (!events_.empty()) {
    out << ", event types:";
    size_t shown = 0;
    for (const auto& event : events_) {
      if (event.event == "message") continue;
      out << " " << event.event;
      if (++shown == 10) break;
    }
  }
  return out.str();
}

}  // namespace relay::itest
