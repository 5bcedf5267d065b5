#pragma once

#include "cli/exit_code.h"
#include "cli/options.h"

namespace relay::cli {

/// Runs the command `options` describe against the services: writes its results to stdout, its
/// complaints to stderr, and returns the exit code (see exit_code.h). `listen` runs until SIGINT or
/// SIGTERM; it must then be called on the main thread before any other thread exists.
ExitCode run_command(const Options& options);

}  // namespace relay::cli
