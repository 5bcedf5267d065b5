#pragma once

// Child processes for tests: a service binary (or a client such as `relay`) run with exactly the
// environment a test gives it, its output drained and kept for failure messages, stopped or
// killed on request and never outliving the test; plus the temp dirs and free ports such runs
// need. Failures to set these up are doctest REQUIREs: a test cannot go on without them.

#include <signal.h>
#include <sys/types.h>

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/eventually.h"

namespace relay::testing {

/// A fresh directory under $TMPDIR (or /tmp), removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  /// Creates (if needed) and returns the subdirectory `name`.
  std::string subdir(const std::string& name) const;

 private:
  std::string path_;
};

/// A TCP port on 127.0.0.1 that was free a moment ago: binds port 0, reads the port, closes.
int reserve_free_port();

/// A TCP port on 127.0.0.1 kept bound (not listening, no SO_REUSEADDR) until release() or
/// destruction, so that no other bind, a port-0 one of a service started meanwhile included, can
/// take it before the process meant to listen there starts.
class HeldPort {
 public:
  HeldPort();
  ~HeldPort() { release(); }
  HeldPort(const HeldPort&) = delete;
  HeldPort& operator=(const HeldPort&) = delete;
  int port() const { return port_; }
  void release();

 private:
  int fd_ = -1;
  int port_ = 0;
};

/// How a child process ended.
struct ExitStatus {
  bool exited = false;  // true: normal exit with `code`; false: killed by `signal`
  int code = -1;
  int signal = 0;

  bool clean() const { return exited && code == 0; }
  std::string describe() const;
};

/// The environment of a child process: exactly these variables (plus the sanitizer option
/// variables of the test process, when set), nothing else inherited.
using Environment = std::map<std::string, std::string>;

/// One service binary run as a child process, with stdout and stderr piped to the test and drained
/// by a reader thread (so the child never blocks on a full pipe). The first stdout line must be the
/// `msg=listening ... port=N` log line. Can be started again after it stopped (a restart).
/// Not thread-safe: drive it from the test's main thread, which must outlive the child (the child
/// gets SIGKILL when the thread that spawned it exits, so no process outlives a crashed test).
class ServiceProcess {
 public:
  ServiceProcess(std::string name, std::string binary, Environment env);
  /// Kills the child (SIGKILL) if it still runs.
  ~ServiceProcess();
  ServiceProcess(const ServiceProcess&) = delete;
  ServiceProcess& operator=(const ServiceProcess&) = delete;

  /// The environment the next spawn() uses; edit it before a restart.
  Environment& env() { return env_; }
  /// Command-line arguments (after argv[0]) and a file to read as stdin (default /dev/null) for
  /// the next spawn(): for running a client such as `relay` rather than a service.
  void set_args(std::vector<std::string> args) { args_ = std::move(args); }
  void set_stdin_file(std::string path) { stdin_path_ = std::move(path); }
  /// The signal terminate() and stop() send: SIGTERM unless set (postgres's fast shutdown is
  /// SIGINT; its SIGTERM waits for every client to leave).
  void set_stop_signal(int signal_number) { stop_signal_ = signal_number; }
  const std::string& name() const { return name_; }

  /// Starts the child and returns at once. False when it could not be started (see diagnostics()).
  bool spawn();
  /// spawn(), then waits for the listening line. False when the child exited, printed a first line
  /// without `port=`, or printed nothing within `timeout`; diagnostics() says which.
  bool start(Millis timeout = kPatience);
  /// Waits for the first stdout line and parses `port=`; true when a port was found.
  bool wait_listening(Millis timeout = kPatience);

  /// The port from the listening line (0 before it arrived).
  int port() const;
  pid_t pid() const { return pid_; }
  /// True while the child has not been reaped.
  bool running();

  /// Sends `signal_number` to the child (by PID) if it runs.
  void send_signal(int signal_number);
  /// Sends the stop signal (SIGTERM) and returns at once; the exit that follows counts as asked
  /// for.
  void terminate();
  /// Waits up to `timeout` for the child to exit and reaps it.
  std::optional<ExitStatus> wait_exit(Millis timeout);
  /// The stop signal (SIGTERM), then SIGKILL if it has not exited within `grace`. `took` gets the
  /// time until exit.
  ExitStatus stop(Millis grace = 10s, Millis* took = nullptr);
  /// SIGKILL, and reap.
  ExitStatus kill9();

  /// The last exit status, once reaped.
  std::optional<ExitStatus> exit_status() const { return exit_status_; }
  /// True when the child exited although the test neither stopped nor killed it.
  bool exited_unexpectedly() const { return exit_status_.has_value() && !stopped_by_test_; }

  /// The first stdout line of the current run (empty until it arrives).
  std::string first_line() const;
  /// The line stdout_lines() holds where a run began (before the lines of each spawn()).
  static constexpr const char* kSpawnMarker = "---- spawn ----";
  /// The last stdout lines kept (up to a few hundred) and everything on stderr (bounded).
  std::vector<std::string> stdout_lines() const;
  std::string stderr_text() const;
  /// Name, PID, state, the last `lines` stdout lines and stderr: for failure messages.
  std::string diagnostics(size_t lines = 30) const;

 private:
  void read_output(int stdout_fd, int stderr_fd);
  void join_reader();

  std::string name_;
  std::string binary_;
  Environment env_;
  std::vector<std::string> args_;
  std::string stdin_path_;
  pid_t pid_ = -1;
  std::optional<ExitStatus> exit_status_;
  bool stopped_by_test_ = false;
  int stop_signal_ = SIGTERM;
  std::string spawn_error_;
  std::thread reader_;

  mutable std::mutex mutex_;
  std::condition_variable output_changed_;
  std::string first_line_;              // guarded by mutex_
  bool first_line_seen_ = false;        // guarded by mutex_
  bool output_closed_ = false;          // guarded by mutex_
  std::deque<std::string> last_lines_;  // guarded by mutex_
  std::string stderr_;                  // guarded by mutex_
  int port_ = 0;                        // guarded by mutex_
};

}  // namespace relay::testing
