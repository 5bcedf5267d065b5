#pragma once

#include <optional>
#include <string>

#include "cli/options.h"

namespace relay::cli {

/// The text of `relay --help` (command == nullopt) or `relay COMMAND --help`: what it does, its
/// options, the environment and the exit codes. Ends with a newline.
std::string help_text(std::optional<Command> command);

/// "relay 0.1.0" plus a newline.
std::string version_text();

}  // namespace relay::cli
