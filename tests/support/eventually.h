#pragma once

// Time in the tests: one clock, one unit, one patience, one polling wait. Waits take deadlines and
// poll; nothing asserts on how long something took except where a test says so with a generous
// bound.

#include <chrono>
#include <functional>

namespace relay::testing {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

/// How long a test waits for something that should happen soon (a message to arrive, a service to
/// start) before failing. Generous: a loaded CI machine must not make a correct service fail.
inline constexpr Millis kPatience = 60s;

/// Calls `condition` every 20 ms until it returns true or `timeout` passes; returns the last
/// result. Runs `condition` on the calling thread.
bool eventually(const std::function<bool()>& condition, Millis timeout = kPatience);

}  // namespace relay::testing
