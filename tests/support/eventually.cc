#include "tests/support/eventually.h"

#include <thread>

namespace relay::testing {

bool eventually(const std::function<bool()>& condition, Millis timeout) {
  auto deadline = Clock::now() + timeout;
  while (true) {
    if (condition()) return true;
    if (Clock::now() >= deadline) return condition();
    std::this_thread::sleep_for(20ms);  // the polling interval, not a wait for an outcome
  }
}

}  // namespace relay::testing
