#pragma once

namespace relay {

/// Blocks SIGINT and SIGTERM in the calling thread and every thread it starts later, and ignores
/// SIGPIPE. Call first thing in main(), before any thread exists.
void block_termination_signals();

/// Waits until SIGINT or SIGTERM arrives; returns the signal number.
int wait_for_termination_signal();

}  // namespace relay
