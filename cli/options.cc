#include "cli/options.h"

#include <algorithm>
#include <array>
#include <cstdlib>
#include <regex>
#include <string_view>

#include "shared/validation.h"

namespace relay::cli {

namespace {

constexpr std::string_view kDefaultMessageUrl = "http://127.0.0.1:8080";
constexpr std::string_view kDefaultNotifyUrl = "http://127.0.0.1:8081";

struct CommandName {
  Command command;
  const char* name;
};

constexpr std::array<CommandName, 10> kCommands = {{
    {Command::kSend, "send"},
    {Command::kListen, "listen"},
    {Command::kHistory, "history"},
    {Command::kTyping, "typing"},
    {Command::kRead, "read"},
    {Command::kDelivered, "delivered"},
    {Command::kChannels, "channels"},
    {Command::kChannel, "channel"},
    {Command::kLogin, "login"},
    {Command::kLogout, "logout"},
}};

// One long option: whether it takes a value and which commands accept it (empty: every command).
struct OptionSpec {
  std::string_view name;
  bool takes_value;
  std::vector<Command> commands;
};

const std::vector<OptionSpec>& option_specs() {
  static const std::vector<OptionSpec> specs = {
      {"message-url", true, {}},
      {"notify-url", true, {}},
      {"user", true, {}},
      {"channel", true, {Command::kSend, Command::kListen, Command::kHistory, Command::kTyping}},
      {"to", true, {Command::kSend, Command::kTyping}},
      {"with", true, {Command::kHistory}},
      {"limit", true, {Command::kHistory}},
      {"json",
       false,
       {Command::kSend, Command::kListen, Command::kHistory, Command::kChannels,
        Command::kChannel}},
      {"private", false, {Command::kChannel}},
      {"quiet-events", false, {Command::kListen}},
  };
  return specs;
}

std::optional<Command> find_command(std::string_view name) {
  for (const auto& entry : kCommands) {
    if (name == entry.name) return entry.command;
  }
  return std::nullopt;
}

std::string env_value(const EnvironmentValues& env, const std::string& name) {
  auto it = env.find(name);
  return it == env.end() ? std::string() : it->second;
}

// http or https, a host, an optional port, an optional trailing slash: what the clients can use.
bool is_service_url(const std::string& url) {
  static const std::regex kUrl(R"(https?://([A-Za-z0-9_.~-]+|\[[0-9A-Fa-f:.]+\])(:[0-9]{1,5})?/?)");
  return std::regex_match(url, kUrl);
}

std::string without_trailing_slash(std::string url) {
  if (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// Applies one option to `options`; returns an error message, or "" when it was fine.
std::string apply_option(std::string_view name, const std::string& value, Options* options) {
  if (name == "message-url") {
    options->message_url = value;
  } else if (name == "notify-url") {
    options->notify_url = value;
  } else if (name == "user") {
    if (value.empty()) return "--user needs a non-empty name";
    options->user = value;
  } else if (name == "channel") {
    options->channel = value;
  } else if (name == "to") {
    options->to = value;
  } else if (name == "with") {
    options->with = value;
  } else if (name == "limit") {
    auto limit = parse_non_negative(value);
    if (!limit || *limit == 0) return "--limit needs a positive whole number, not '" + value + "'";
    options->limit = *limit;
  } else if (name == "json") {
    options->json = true;
  } else if (name == "quiet-events") {
    options->quiet_events = true;
  } else if (name == "private") {
    options->private_channel = true;
  }
  return {};
}

// Checks what depends on the command once every argument was read.
std::string check_command(const Options& options) {
  switch (options.command) {
    case Command::kSend:
    case Command::kTyping:
      if (!options.channel.empty() && !options.to.empty()) {
        return "use --channel or --to, not both";
      }
      if (options.command == Command::kTyping && !options.words.empty()) {
        return "typing takes no arguments";
      }
      return {};
    case Command::kRead:
    case Command::kDelivered:
      if (options.words.size() != 1) return "needs exactly one message ID";
      if (!parse_non_negative(options.words[0])) {
        return "the message ID must be a number, not '" + options.words[0] + "'";
      }
      return {};
    case Command::kChannel: {
      const auto& words = options.words;
      std::string action = words.empty() ? "" : words[0];
      size_t wanted = action == "create" || action == "members" ? 2
                      : action == "add" || action == "remove"   ? 3
                                                                : 0;
      if (wanted == 0) return "needs create NAME, members NAME, add NAME USER or remove NAME USER";
      if (words.size() != wanted)
        return "channel " + action + " needs " + (wanted == 2 ? "NAME" : "NAME USER");
      if (options.private_channel && action != "create") return "--private goes with create";
      return {};
    }
    case Command::kListen:
    case Command::kHistory:
    case Command::kChannels:
    case Command::kLogin:
    case Command::kLogout:
      if (!options.words.empty()) return "unexpected argument '" + options.words[0] + "'";
      return {};
  }
  return {};
}

}  // namespace

const char* command_name(Command command) {
  for (const auto& entry : kCommands) {
    if (entry.command == command) return entry.name;
  }
  return "?";
}

EnvironmentValues read_environment() {
  EnvironmentValues env;
  for (const char* name : {"RELAY_MESSAGE_URL", "RELAY_NOTIFY_URL", "RELAY_USER", "USER"}) {
    const char* value = std::getenv(name);
    if (value != nullptr && *value != '\0') env[name] = value;
  }
  return env;
}

ParsedCommandLine parse_command_line(const std::vector<std::string>& args,
                                     const EnvironmentValues& env) {
  Options options;
  std::optional<Command> command;
  bool help = false;
  bool version = false;
  bool options_ended = false;
  // Options are checked against the command once it is known, since they may precede it.
  std::vector<std::pair<const OptionSpec*, std::string>> given;

  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    bool is_option = !options_ended && arg.size() > 1 && arg[0] == '-';
    if (!is_option) {
      if (!command) {
        command = find_command(arg);
        if (!command) return UsageError{"unknown command '" + arg + "'", std::nullopt};
      } else {
        options.words.push_back(arg);
      }
      continue;
    }
    if (arg == "--") {
      options_ended = true;
    } else if (arg == "-h" || arg == "--help") {
      help = true;
    } else if (arg == "--version") {
      version = true;
    } else if (arg.rfind("--", 0) == 0) {
      std::string_view body = std::string_view(arg).substr(2);
      std::string_view name = body.substr(0, body.find('='));
      const OptionSpec* spec = nullptr;
      for (const auto& candidate : option_specs()) {
        if (candidate.name == name) spec = &candidate;
      }
      if (spec == nullptr)
        return UsageError{"unknown option '--" + std::string(name) + "'", command};
      std::string value;
      if (body.size() > name.size()) {
        if (!spec->takes_value) return UsageError{arg + ": this option takes no value", command};
        value = std::string(body.substr(name.size() + 1));
      } else if (spec->takes_value) {
        if (i + 1 >= args.size()) return UsageError{arg + " needs a value", command};
        value = args[++i];
      }
      given.emplace_back(spec, std::move(value));
    } else {
      return UsageError{"unknown option '" + arg + "'", command};
    }
  }

  if (help) return ShowHelp{command};
  if (version) return ShowVersion{};
  if (!command) return UsageError{"no command given", std::nullopt};
  options.command = *command;

  options.message_url = env_value(env, "RELAY_MESSAGE_URL");
  options.notify_url = env_value(env, "RELAY_NOTIFY_URL");
  options.user = env_value(env, "RELAY_USER");
  if (options.user.empty() && is_valid_user_name(env_value(env, "USER"))) {
    options.user = env_value(env, "USER");
  }
  for (const auto& [spec, value] : given) {
    const auto& allowed = spec->commands;
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), *command) == allowed.end()) {
      return UsageError{"'" + std::string(command_name(*command)) + "' has no option --" +
                            std::string(spec->name),
                        command};
    }
    if (std::string error = apply_option(spec->name, value, &options); !error.empty()) {
      return UsageError{error, command};
    }
  }
  if (options.message_url.empty()) options.message_url = kDefaultMessageUrl;
  if (options.notify_url.empty()) options.notify_url = kDefaultNotifyUrl;
  if (options.user.empty()) options.user = kDefaultUser;
  for (std::string* url : {&options.message_url, &options.notify_url}) {
    if (!is_service_url(*url)) {
      return UsageError{"'" + *url + "' is not a service URL like http://127.0.0.1:8080", command};
    }
    *url = without_trailing_slash(*url);
  }
  if (std::string error = check_command(options); !error.empty()) return UsageError{error, command};
  return options;
}

}  // namespace relay::cli
