#include "cli/commands.h"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <random>
#include <thread>

#include <termios.h>
#include <unistd.h>

#include <fmt/format.h>

#include "cli/credentials.h"
#include "cli/failure.h"
#include "cli/format.h"
#include "cli/listener.h"
#include "cli/service_client.h"
#include "cli/termination_watch.h"
#include "shared/time_format.h"

namespace relay::cli {

namespace {

// The credentials of `relay login`, when they are for this message-service: every client sends
// them (set once in run_command, before any request).
std::shared_ptr<CredentialKeeper> signed_in;

void authorize(ServiceClient& client) {
  if (signed_in) client.set_authorization([keeper = signed_in] { return keeper->authorization(); });
}

// Attempts of one POST /messages: a network error or 5xx is retried with the same key.
constexpr int kSendAttempts = 4;
constexpr auto kFirstSendRetry = std::chrono::milliseconds(250);

// Writes `text` to stdout at once (a script or a pipe reads line by line); false once it fails.
bool print(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  return std::fflush(stdout) == 0 && !std::ferror(stdout);
}

bool is_success(const CallResult& result) {
  return result.status >= 200 && result.status < 300;
}

// 128 random bits as hex: unique enough that two sends never share a key.
std::string new_idempotency_key() {
  std::random_device random;
  std::string key = "relay-cli-";
  for (int i = 0; i < 4; ++i) key += fmt::format("{:08x}", random());
  return key;
}

std::string message_text(const Options& options) {
  if (options.words.empty() || (options.words.size() == 1 && options.words[0] == "-")) {
    std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (!text.empty() && text.back() == '\r') text.pop_back();
    return text;
  }
  std::string text;
  for (const auto& word : options.words) {
    if (!text.empty()) text.push_back(' ');
    text += word;
  }
  return text;
}

ExitCode send(const Options& options) {
  nlohmann::json body = {{"content", message_text(options)}, {"user", options.user}};
  if (!options.channel.empty()) body["channel"] = options.channel;
  if (!options.to.empty()) body["to"] = options.to;
  ServiceClient client(options.message_url);
  authorize(client);
  const HeaderList headers = {{"Idempotency-Key", new_idempotency_key()}};
  CallResult result;
  auto delay = kFirstSendRetry;
  for (int attempt = 1; attempt <= kSendAttempts; ++attempt) {
    result = client.post_json("/messages", body, headers);
    if (result.answered() && result.status < 500) break;
    if (attempt < kSendAttempts) {
      std::this_thread::sleep_for(delay);
      delay *= 2;
    }
  }
  if (!is_success(result)) return report_failure(client, "POST /messages", result);
  if (options.json) {
    print(format_json_line(result.json));
  } else {
    print(result.json.value("id", std::string()) + "\n");
  }
  return ExitCode::kOk;
}

ExitCode history(const Options& options) {
  // Direct messages come with `user`: asked for with --with, or when no channel narrows the view.
  QueryParams query;
  if (options.channel.empty() || !options.with.empty()) query.emplace_back("user", options.user);
  if (!options.channel.empty()) query.emplace_back("channel", options.channel);
  if (!options.with.empty()) query.emplace_back("with", options.with);
  if (options.limit) query.emplace_back("limit", std::to_string(*options.limit));
  ServiceClient client(options.message_url);
  authorize(client);
  CallResult result = client.get("/messages", query);
  if (!is_success(result) || !result.json.is_object() || !result.json["messages"].is_array()) {
    return report_failure(client, "GET /messages", result);
  }
  for (const auto& message : result.json["messages"]) {
    print(options.json ? format_json_line(message)
                       : format_message(message, TimeStyle::kDateAndTime));
  }
  return ExitCode::kOk;
}

ExitCode typing(const Options& options) {
  nlohmann::json body = {{"user", options.user}};
  if (!options.channel.empty()) body["channel"] = options.channel;
  if (!options.to.empty()) body["to"] = options.to;
  ServiceClient client(options.message_url);
  authorize(client);
  CallResult result = client.post_json("/typing", body);
  if (!is_success(result)) return report_failure(client, "POST /typing", result);
  return ExitCode::kOk;
}

ExitCode receipt(const Options& options, const std::string& status) {
  const std::string& id = options.words.at(0);
  std::string path = "/messages/" + id + "/receipts";
  ServiceClient client(options.message_url);
  authorize(client);
  CallResult result = client.post_json(path, {{"user", options.user}, {"status", status}});
  if (!is_success(result) || !result.json.is_object()) {
    return report_failure(client, "POST " + path, result);
  }
  bool changed = result.json.value("changed", false);
  std::string stored = result.json.value("status", status);
  print(fmt::format("[{}] {} by {}{}\n", id, stored, options.user,
                    changed ? "" : " (already " + stored + ")"));
  return ExitCode::kOk;
}

ExitCode channels(const Options& options) {
  ServiceClient client(options.message_url);
  authorize(client);
  CallResult result = client.get("/channels");
  if (!is_success(result) || !result.json.is_object() || !result.json["channels"].is_array()) {
    return report_failure(client, "GET /channels", result);
  }
  for (const auto& channel : result.json["channels"]) {
    print(options.json ? format_json_line(channel) : format_channel(channel));
  }
  return ExitCode::kOk;
}

ExitCode channel(const Options& options) {
  ServiceClient client(options.message_url);
  authorize(client);
  const std::string& action = options.words[0];
  const std::string& name = options.words[1];
  std::string path = "/channels/" + url_encode(name) + "/members";
  CallResult result;
  std::string what;
  if (action == "create") {
    what = "POST /channels";
    result = client.post_json("/channels", {{"name", name}, {"private", options.private_channel}});
  } else if (action == "members") {
    what = "GET " + path;
    result = client.get(path);
  } else if (action == "add") {
    what = "POST " + path;
    result = client.post_json(path, {{"user", options.words[2]}});
  } else {
    path += "/" + url_encode(options.words[2]);
    what = "DELETE " + path;
    result = client.del(path);
  }
  if (!is_success(result) || !result.json.is_object()) return report_failure(client, what, result);
  if (options.json) {
    print(format_json_line(result.json));
    return ExitCode::kOk;
  }
  print(format_channel_detail(result.json, name));
  return ExitCode::kOk;
}

ExitCode listen(const Options& options) {
  ServiceClient notify(options.notify_url);
  ServiceClient history(options.message_url);
  authorize(notify);
  authorize(history);
  ListenSettings settings;
  settings.channels = options.channel;
  settings.user = options.user;
  Listener* listener_ptr = nullptr;
  auto on_item = [&options, &listener_ptr](const StreamItem& item) {
    std::string line;
    if (item.type == "message") {
      if (options.json) {
        nlohmann::json data = item.data;
        if (!data.contains("type")) data["type"] = "message";
        line = format_json_line(data);
      } else {
        line = format_message(item.data, TimeStyle::kTimeOnly);
      }
    } else if (!options.quiet_events) {
      line = options.json ? format_json_line(item.data) : format_event(item.type, item.data);
    }
    if (!line.empty() && !print(line)) listener_ptr->stop();  // stdout is gone: nobody reads
  };
  Listener listener(notify, history, settings, on_item, print_notice);
  listener_ptr = &listener;
  TerminationWatch watch([&listener](int) { listener.stop(); });
  ListenOutcome outcome = listener.run();
  switch (outcome.end) {
    case ListenOutcome::End::kStopped:
      return ExitCode::kOk;
    case ListenOutcome::End::kRefused:
      return report_failure(notify, "GET /events", outcome.failure);
    case ListenOutcome::End::kUnreachable:
      report_failure(notify, "GET /events", outcome.failure);
      return ExitCode::kUnavailable;
  }
  return ExitCode::kOk;
}

// The password for `login`: asked for without echo on a terminal, else stdin's first line.
std::string read_password(const std::string& user) {
  std::string password;
  if (::isatty(STDIN_FILENO)) {
    std::fprintf(stderr, "password for %s: ", user.c_str());
    std::fflush(stderr);
    termios saved{};
    bool quiet = ::tcgetattr(STDIN_FILENO, &saved) == 0;
    if (quiet) {
      termios silent = saved;
      silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent);
    }
    std::getline(std::cin, password);
    if (quiet) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::fprintf(stderr, "\n");
  } else {
    std::getline(std::cin, password);
  }
  if (!password.empty() && password.back() == '\r') password.pop_back();
  return password;
}

ExitCode login(const Options& options) {
  std::string password = read_password(options.user);
  ServiceClient client(options.message_url);
  CallResult result =
      client.post_json("/auth/login", {{"username", options.user}, {"password", password}});
  if (result.status != 200 || !result.json.is_object()) {
    return report_failure(client, "POST /auth/login", result);
  }
  Credentials credentials;
  credentials.message_url = options.message_url;
  credentials.user = result.json.value("user", options.user);
  credentials.access_token = result.json.value("access_token", "");
  credentials.session = cookie_from_set_cookies(result.set_cookies, "relay_session");
  credentials.expires_at_s = now_unix_ms() / 1000 + result.json.value("expires_in", int64_t{60});
  std::string error;
  if (!save_credentials(credentials_path(), credentials, &error)) {
    std::fprintf(stderr, "relay: signed in, but %s\n", error.c_str());
    return ExitCode::kUnavailable;
  }
  print(fmt::format("signed in as {} (credentials in {})\n", credentials.user, credentials_path()));
  return ExitCode::kOk;
}

ExitCode logout(const Options& options) {
  ServiceClient client(options.message_url);
  authorize(client);
  CallResult result;
  if (signed_in) result = client.post_json("/auth/logout", nlohmann::json::object());
  bool removed = remove_credentials(credentials_path());
  if (!removed) {
    print("not signed in\n");
    return ExitCode::kOk;
  }
  if (result.status != 200 && result.status != 401) {
    report_failure(client, "POST /auth/logout", result);  // the local credentials are gone anyway
  }
  print("signed out\n");
  return ExitCode::kOk;
}

}  // namespace

ExitCode run_command(const Options& given) {
  Options options = given;
  if (auto kept = load_credentials(credentials_path());
      kept && kept->message_url == options.message_url && options.command != Command::kLogin) {
    options.user = kept->user;  // the services know you as who you signed in as
    signed_in = std::make_shared<CredentialKeeper>(credentials_path(), std::move(*kept));
  }
  switch (options.command) {
    case Command::kLogin:
      return login(options);
    case Command::kLogout:
      return logout(options);
    case Command::kSend:
      return send(options);
    case Command::kListen:
      return listen(options);
    case Command::kHistory:
      return history(options);
    case Command::kTyping:
      return typing(options);
    case Command::kRead:
      return receipt(options, "read");
    case Command::kDelivered:
      return receipt(options, "delivered");
    case Command::kChannels:
      return channels(options);
    case Command::kChannel:
      return channel(options);
  }
  return ExitCode::kUsage;
}

}  // namespace relay::cli
