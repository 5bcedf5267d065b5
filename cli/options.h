#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <variant>
#include <vector>

namespace relay::cli {

/// The subcommands of `relay`.
enum class Command {
  kSend,
  kListen,
  kHistory,
  kTyping,
  kRead,
  kDelivered,
  kChannels,
  kChannel,
  kLogin,
  kLogout
};

/// Everything one invocation asked for, after defaults from the environment were applied.
struct Options {
  Command command = Command::kSend;
  std::string message_url;
  std::string notify_url;
  std::string user;
  /// --channel: one name, or for `listen` a comma-separated list (kept as given).
  std::string channel;
  std::string to;
  std::string with;
  std::optional<int64_t> limit;
  bool json = false;
  bool quiet_events = false;
  /// --private (channel create).
  bool private_channel = false;
  /// The positional arguments after the command (the text of `send`, the id of `read`).
  std::vector<std::string> words;
};

/// What the command line asks for instead of running a command.
struct ShowHelp {
  /// The command whose help was asked for; nullopt for the overview.
  std::optional<Command> command;
};
struct ShowVersion {};

/// A command line that cannot run: `message` says why in one line, `command` which help to point
/// at (nullopt: the overview).
struct UsageError {
  std::string message;
  std::optional<Command> command;
};

using ParsedCommandLine = std::variant<Options, ShowHelp, ShowVersion, UsageError>;

/// The environment variables the parser reads (RELAY_MESSAGE_URL, RELAY_NOTIFY_URL, RELAY_USER,
/// USER); a missing or empty entry means unset.
using EnvironmentValues = std::map<std::string, std::string>;

/// Reads the process environment's values of the variables above.
EnvironmentValues read_environment();

/// Parses `relay [options] COMMAND [options] [args]`. Options may come before or after the
/// command, as `--name value` or `--name=value`; `--` ends the options. Flags override the
/// environment, which overrides the defaults (http://127.0.0.1:8080, http://127.0.0.1:8081, $USER
/// when it is a valid user name, else "anonymous"). Checks the shape of every argument (known
/// options for the command, URLs, ids, limits) but not what only a service can judge (channel
/// names, content), so the services stay the one authority on input.
ParsedCommandLine parse_command_line(const std::vector<std::string>& args,
                                     const EnvironmentValues& env);

/// The command's name as typed ("send", "listen", ...).
const char* command_name(Command command);

}  // namespace relay::cli
