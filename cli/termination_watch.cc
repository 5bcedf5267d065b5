#include "cli/termination_watch.h"

#include <csignal>
#include <ctime>

#include "shared/shutdown_signal.h"

namespace relay::cli {

TerminationWatch::TerminationWatch(std::function<void(int)> on_signal)
    : on_signal_(std::move(on_signal)) {
  block_termination_signals();
  thread_ = std::thread([this] {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    // Wakes every 100 ms to notice the destructor; sigwait alone could not be interrupted.
    const timespec tick{0, 100'000'000};
    while (!done_) {
      int signal_number = sigtimedwait(&set, nullptr, &tick);
      if (signal_number > 0) {
        on_signal_(signal_number);
        return;
      }
    }
  });
}

TerminationWatch::~TerminationWatch() {
  done_ = true;
  if (thread_.joinable()) thread_.join();
}

}  // namespace relay::cli
