#pragma once

#include <atomic>
#include <functional>
#include <thread>

namespace relay::cli {

/// Turns SIGINT and SIGTERM into a call of `on_signal` on a thread of its own, so a long-running
/// command can end cleanly. Construct it on the main thread before any other thread exists (it
/// blocks the two signals for the process's threads from then on, and ignores SIGPIPE). The
/// destructor stops watching and joins the thread; `on_signal` runs at most once.
class TerminationWatch {
 public:
  explicit TerminationWatch(std::function<void(int signal_number)> on_signal);
  ~TerminationWatch();
  TerminationWatch(const TerminationWatch&) = delete;
  TerminationWatch& operator=(const TerminationWatch&) = delete;

 private:
  std::function<void(int)> on_signal_;
  std::atomic<bool> done_{false};
  std::thread thread_;
};

}  // namespace relay::cli
