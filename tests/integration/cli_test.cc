// The `relay` command-line client, run as a real child process against the real services: what it
// prints, what it stores, how it follows a stream across a notify-service restart, and its exit
// codes.

#include <signal.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <doctest/doctest.h>
#include <fmt/format.h>

#include "shared/validation.h"
#include "tests/integration/accounts_support.h"
#include "tests/integration/cli_harness.h"

namespace relay::itest {
namespace {

// The one-line stdout of a successful `relay send`: the stored id.
int64_t sent_id(const CliRun& run) {
  REQUIRE_MESSAGE(run.status.clean(), run.describe());
  REQUIRE_MESSAGE(run.out_lines.size() == 1, run.describe());
  auto id = parse_non_negative(run.out_lines[0]);
  REQUIRE_MESSAGE(id.has_value(), run.describe());
  return *id;
}

bool ends_with(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() &&
         text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The numeric "id" of each JSON line a `relay listen --json` printed; FAILs on a line that is not
// a message object.
std::vector<int64_t> json_line_ids(const std::vector<std::string>& lines) {
  std::vector<int64_t> ids;
  for (const auto& line : lines) {
    Json event = Json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(event.is_object(), line);
    REQUIRE_MESSAGE(event.value("type", std::string()) == "message", line);
    ids.push_back(id_of(event));
  }
  return ids;
}

// Posts `count` messages to "general" straight to message-service; returns their ids.
std::vector<int64_t> post_many(const HttpClient& http, int count, const std::string& prefix) {
  std::vector<int64_t> ids;
  for (int i = 0; i < count; ++i) {
    ids.push_back(id_of(post_message(http, {{"content", prefix + std::to_string(i)}})));
  }
  return ids;
}

}  // namespace

TEST_CASE("cli: send stores the message and prints its id, and history and channels show it") {
  Relay relay;
  INFO(relay.diagnostics());
  const Environment alice = cli_env(relay, "alice");

  int64_t hello = sent_id(run_cli({"send", "--channel", "dev", "hello", "world"}, alice));
  int64_t piped = sent_id(run_cli({"send", "--channel=dev"}, alice, "from stdin\nline two\n"));
  int64_t dash = sent_id(run_cli({"send", "-"}, alice, "dash means stdin"));
  int64_t dm = sent_id(run_cli({"send", "--to", "bob", "psst"}, alice));

  HttpResponse stored = relay.message_http().get("/messages/" + std::to_string(hello));
  REQUIRE_MESSAGE(stored.status == 200, stored.describe());
  CHECK(stored.json()["content"] == "hello world");
  CHECK(stored.json()["channel"] == "dev");
  CHECK(stored.json()["user"] == "alice");
  HttpResponse stored_pipe = relay.message_http().get("/messages/" + std::to_string(piped));
  CHECK(stored_pipe.json()["content"] == "from stdin\nline two");
  HttpResponse stored_dash = relay.message_http().get("/messages/" + std::to_string(dash));
  CHECK(stored_dash.json()["content"] == "dash means stdin");
  CHECK(stored_dash.json()["channel"] == "general");

  CliRun history = run_cli({"history", "--channel", "dev"}, alice);
  REQUIRE_MESSAGE(history.status.clean(), history.describe());
  REQUIRE_MESSAGE(history.out_lines.size() == 3, history.describe());
  CHECK_MESSAGE(ends_with(history.out_lines[0], fmt::format("[{}] #dev alice: hello world", hello)),
                history.describe());
  const std::string first = fmt::format("[{}] #dev alice: ", piped);
  CHECK_MESSAGE(ends_with(history.out_lines[1], first + "from stdin"), history.describe());
  // The second line of a message is indented under the text of the first.
  CHECK_MESSAGE(
      history.out_lines[2] ==
          std::string(history.out_lines[1].size() - std::string("from stdin").size(), ' ') +
              "line two",
      history.describe());

  CliRun as_json = run_cli({"history", "--json", "--limit", "2"}, alice);
  REQUIRE_MESSAGE(as_json.status.clean(), as_json.describe());
  REQUIRE_MESSAGE(as_json.out_lines.size() == 2, as_json.describe());
  CHECK(Json::parse(as_json.out_lines[0])["id"] == std::to_string(dash));
  CHECK(Json::parse(as_json.out_lines[1])["id"] == std::to_string(dm));
  CHECK(Json::parse(as_json.out_lines[1])["to"] == "bob");

  // carol does not see alice's and bob's direct message.
  CliRun carol = run_cli({"history", "--json"}, cli_env(relay, "carol"));
  CHECK_MESSAGE(carol.out.find("psst") == std::string::npos, carol.describe());
  CHECK(carol.out_lines.size() == 3);

  CliRun channels = run_cli({"channels"}, alice);
  REQUIRE_MESSAGE(channels.status.clean(), channels.describe());
  REQUIRE_MESSAGE(channels.out_lines.size() == 2, channels.describe());
  CHECK(channels.out_lines[0].rfind("#general  1 message, last ", 0) == 0);
  CHECK(channels.out_lines[1].rfind("#dev  2 messages, last ", 0) == 0);
}

TEST_CASE("cli: listen prints channel messages and direct messages sent meanwhile") {
  Relay relay;
  INFO(relay.diagnostics());
  const Environment alice = cli_env(relay, "alice");
  // --quiet-events: presence events (from main's chat contract) would interleave otherwise.
  CliProcess readable({"listen", "--channel", "general,dev", "--quiet-events"},
                      cli_env(relay, "bob"));
  CliProcess as_json({"listen", "--json", "--quiet-events", "--user", "bob"},
                     cli_env(relay, "nobody"));
  REQUIRE_MESSAGE(readable.wait_err("listening to"), readable.describe());
  REQUIRE_MESSAGE(as_json.wait_err("listening to"), as_json.describe());

  std::vector<int64_t> ids;
  ids.push_back(sent_id(run_cli({"send", "hi all"}, alice)));
  sent_id(run_cli({"send", "--channel", "random", "elsewhere"}, alice));  // not followed
  ids.push_back(sent_id(run_cli({"send", "--to", "bob", "psst bob"}, alice)));
  sent_id(run_cli({"send", "--to", "carol", "not for bob"}, alice));  // another pair's DM
  ids.push_back(sent_id(run_cli({"send", "--channel", "dev"}, alice, "line one\nline two")));
  ids.push_back(sent_id(run_cli({"send", "--user", "bob", "last"}, alice)));

  REQUIRE_MESSAGE(readable.wait_line("bob: last"), readable.describe());
  std::vector<std::string> lines = readable.lines();
  INFO(readable.describe());
  REQUIRE(lines.size() == 5);
  CHECK(ends_with(lines[0], fmt::format("[{}] #general alice: hi all", ids[0])));
  CHECK(ends_with(lines[1], fmt::format("[{}] alice → bob: psst bob", ids[1])));
  CHECK(ends_with(lines[2], fmt::format("[{}] #dev alice: line one", ids[2])));
  CHECK(lines[3] ==
        std::string(lines[2].size() - std::string("line one").size(), ' ') + "line two");
  CHECK(ends_with(lines[4], fmt::format("[{}] #general bob: last", ids[3])));
  // Lines start with the time of day.
  CHECK(lines[0].size() > 9);
  CHECK(lines[0][2] == ':');
  CHECK(lines[0][5] == ':');

  // The JSON listener follows every channel, so it also got "elsewhere" but not carol's DM.
  REQUIRE_MESSAGE(as_json.wait_line("\"last\""), as_json.describe());
  std::vector<std::string> json_lines = as_json.lines();
  INFO(as_json.describe());
  REQUIRE(json_lines.size() == 5);
  std::vector<std::string> contents;
  for (const auto& line : json_lines) contents.push_back(Json::parse(line)["content"]);
  CHECK(contents ==
        std::vector<std::string>{"hi all", "elsewhere", "psst bob", "line one\nline two", "last"});
  CHECK(Json::parse(json_lines[2])["to"] == "bob");
}

TEST_CASE("cli: listen survives notify-service being killed and restarted: none lost, none twice") {
  Relay relay;
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  CliProcess listener({"listen", "--json", "--quiet-events"}, cli_env(relay, "bob"));
  REQUIRE_MESSAGE(listener.wait_err("listening to"), listener.describe());

  // A steady stream of posts while notify-service dies and comes back.
  std::atomic<int> posted{0};
  std::vector<int64_t> expected;
  std::thread poster([&] {
    for (int i = 0; i < 60; ++i) {
      HttpResponse response = http.post_json("/messages", {{"content", fmt::format("m{}", i)}});
      if (response.status == 201) expected.push_back(id_of(response.json()));
      ++posted;
      std::this_thread::sleep_for(10ms);  // the scenario: posts spread over the outage
    }
  });
  bool saw_some = listener.wait_line_count(10);
  relay.notify().kill9();
  const int posted_at_kill = posted;
  eventually([&] { return posted >= std::min(60, posted_at_kill + 15); });
  relay.start_notify();
  poster.join();
  REQUIRE_MESSAGE(saw_some, listener.describe());
  REQUIRE(expected.size() == 60);
  // One more after everything else: once it is printed, anything duplicated would be printed too.
  expected.push_back(id_of(post_message(http, {{"content", "sentinel"}})));

  REQUIRE_MESSAGE(listener.wait_line("\"sentinel\""), listener.describe());
  std::string difference = compare_ids(json_line_ids(listener.lines()), expected);
  CHECK_MESSAGE(difference.empty(), listener.describe() << "\n" << difference);
  CHECK_MESSAGE(listener.err().find("reconnected, resuming after") != std::string::npos,
                listener.describe());
  CHECK(listener.process().running());
}

TEST_CASE("cli: listen fetches from history itself when notify-service answers event reset") {
  // notify-service cannot read history and keeps only one message, so a listener that resumes after
  // a restart gets `event: reset` and must fetch the gap from message-service on its own.
  RelayOptions options;
  options.notify_env = {
      {"MESSAGE_SERVICE_URL", "http://127.0.0.1:" + std::to_string(reserve_free_port())},
      {"RING_SIZE", "1"}};
  Relay relay(options);
  INFO(relay.diagnostics());
  HttpClient http = relay.message_http();
  CliProcess listener({"listen", "--json", "--quiet-events"}, cli_env(relay, "bob"));
  REQUIRE_MESSAGE(listener.wait_err("listening to"), listener.describe());

  std::vector<int64_t> expected = post_many(http, 5, "before-");
  REQUIRE_MESSAGE(listener.wait_line_count(5), listener.describe());
  relay.notify().kill9();
  std::vector<int64_t> during = post_many(http, 5, "during-");
  relay.start_notify();
  std::vector<int64_t> after = post_many(http, 3, "after-");
  expected.insert(expected.end(), during.begin(), during.end());
  expected.insert(expected.end(), after.begin(), after.end());
  expected.push_back(id_of(post_message(http, {{"content", "sentinel"}})));

  REQUIRE_MESSAGE(listener.wait_line("\"sentinel\""), listener.describe());
  std::string difference = compare_ids(json_line_ids(listener.lines()), expected);
  CHECK_MESSAGE(difference.empty(), listener.describe() << "\n" << difference);
  CHECK_MESSAGE(listener.err().find("missed events") != std::string::npos, listener.describe());
  CHECK(metric_value(relay.notify_http().get("/metrics").body, "relay_resets_total") >= 1.0);
}

TEST_CASE("cli: SIGINT and SIGTERM end listen with exit code 0, also while reconnecting") {
  Relay relay;
  INFO(relay.diagnostics());
  for (int signal_number : {SIGINT, SIGTERM}) {
    CAPTURE(signal_number);
    CliProcess listener({"listen"}, cli_env(relay, "bob"));
    REQUIRE_MESSAGE(listener.wait_err("listening to"), listener.describe());
    listener.process().send_signal(signal_number);
    std::optional<ExitStatus> status = listener.process().wait_exit(kPatience);
    REQUIRE_MESSAGE(status.has_value(), listener.describe());
    CHECK_MESSAGE(status->clean(), status->describe() << "\n" << listener.describe());
  }

  CliProcess waiting({"listen"}, cli_env(relay, "bob"));
  REQUIRE_MESSAGE(waiting.wait_err("listening to"), waiting.describe());
  relay.notify().kill9();
  REQUIRE_MESSAGE(waiting.wait_err("reconnecting in"), waiting.describe());
  waiting.process().send_signal(SIGINT);
  std::optional<ExitStatus> status = waiting.process().wait_exit(kPatience);
  REQUIRE_MESSAGE(status.has_value(), waiting.describe());
  CHECK_MESSAGE(status->clean(), status->describe() << "\n" << waiting.describe());
}

TEST_CASE("cli: input the service refuses exits 1 with its error code, and nothing is stored") {
  RelayOptions options;
  options.message_env = {{"MAX_MESSAGE_BYTES", "100"}};
  Relay relay(options);
  INFO(relay.diagnostics());
  const Environment env = cli_env(relay, "alice");

  struct Case {
    std::vector<std::string> args;
    std::optional<std::string> stdin_text;
    std::string code;
  };
  const std::vector<Case> cases = {
      {{"send", "--channel", "no spaces allowed", "hi"}, std::nullopt, "invalid_channel"},
      {{"send", "--channel", "dev", ""}, std::nullopt, "empty_content"},
      {{"send"}, "", "empty_content"},
      {{"send", std::string(101, 'x')}, std::nullopt, "content_too_large"},
      {{"send", "--user", std::string(65, 'u'), "hi"}, std::nullopt, "invalid_user"},
      {{"history", "--channel", "bad channel"}, std::nullopt, "invalid_channel"},
  };
  for (const auto& c : cases) {
    CliRun run = run_cli(c.args, env, c.stdin_text);
    INFO(c.args[0] << " expecting " << c.code << ": " << run.describe());
    CHECK(run.status.exited);
    CHECK(run.status.code == 1);
    CHECK(run.out.empty());
    CHECK(run.err.find(c.code) != std::string::npos);
    CHECK(run.err.find('\n') == run.err.size() - 1);  // one line
  }
  HttpResponse all = relay.message_http().get("/messages?user=alice");
  REQUIRE(all.status == 200);
  CHECK_MESSAGE(all.json()["messages"].empty(), all.describe());
  // The limit itself is fine.
  sent_id(run_cli({"send", std::string(100, 'x')}, env));
}

TEST_CASE("cli: an unreachable service exits 3 and names its URL") {
  const std::string closed = "http://127.0.0.1:" + std::to_string(reserve_free_port());
  const Environment env = {{"RELAY_MESSAGE_URL", closed}, {"RELAY_NOTIFY_URL", closed}};
  for (const auto& args : std::vector<std::vector<std::string>>{
           {"send", "hello"}, {"history"}, {"channels"}, {"listen"}, {"read", "1"}}) {
    CliRun run = run_cli(args, env);
    INFO(args[0] << ": " << run.describe());
    CHECK(run.status.exited);
    CHECK(run.status.code == 3);
    CHECK(run.err.find(closed) != std::string::npos);
  }
}

TEST_CASE("cli: usage errors exit 2, --help documents exit codes, --version works") {
  const Environment env = {{"RELAY_MESSAGE_URL", "http://127.0.0.1:1"}};
  for (const auto& args : std::vector<std::vector<std::string>>{
           {},
           {"frobnicate"},
           {"send", "--with", "bob", "hi"},
           {"send", "--channel", "a", "--to", "b", "hi"},
           {"history", "--limit", "0"},
           {"history", "--limit"},
           {"read"},
           {"read", "abc"},
           {"listen", "extra"},
           {"channels", "--message-url", "ftp://example"},
       }) {
    CliRun run = run_cli(args, env);
    INFO((args.empty() ? std::string("(none)") : args[0]) << ": " << run.describe());
    CHECK(run.status.exited);
    CHECK(run.status.code == 2);
    CHECK(run.out.empty());
    CHECK(run.err.find("--help") != std::string::npos);
  }
  CliRun help = run_cli({"--help"}, env);
  CHECK(help.status.clean());
  CHECK(help.out.find("exit codes") != std::string::npos);
  CHECK(help.out.find("RELAY_MESSAGE_URL") != std::string::npos);
  CliRun send_help = run_cli({"send", "--help"}, env);
  CHECK(send_help.status.clean());
  CHECK(send_help.out.find("usage: relay send") != std::string::npos);
  CliRun version = run_cli({"--version"}, env);
  CHECK(version.status.clean());
  CHECK(version.out == std::string("relay ") + RELAY_VERSION + "\n");
}

TEST_CASE(
    "cli: typing and read receipts reach a listener, in readable and JSON form, and history "
    "--with shows one conversation") {
  Relay relay;
  INFO(relay.diagnostics());
  const Environment alice = cli_env(relay, "alice");
  const Environment bob = cli_env(relay, "bob");
  CliProcess readable({"listen", "--channel", "general"}, bob);
  CliProcess as_json({"listen", "--json", "--channel", "general"}, cli_env(relay, "carol"));
  CliProcess quiet({"listen", "--quiet-events", "--channel", "general"}, cli_env(relay, "dave"));
  for (CliProcess* listener : {&readable, &as_json, &quiet}) {
    REQUIRE_MESSAGE(listener->wait_err("listening to"), listener->describe());
  }

  const int64_t id = sent_id(run_cli({"send", "hello bob"}, alice));
  const std::string id_text = std::to_string(id);
  REQUIRE_MESSAGE(readable.wait_line("alice: hello bob"), readable.describe());

  CliRun typing = run_cli({"typing"}, alice);
  REQUIRE_MESSAGE(typing.status.clean(), typing.describe());
  CHECK(typing.out.empty());
  CHECK_MESSAGE(readable.wait_line("· alice is typing in #general"), readable.describe());

  CliRun read = run_cli({"read", id_text}, bob);
  REQUIRE_MESSAGE(read.status.clean(), read.describe());
  CHECK(read.out == "[" + id_text + "] read by bob\n");
  CHECK_MESSAGE(readable.wait_line("· bob read [" + id_text + "]"), readable.describe());
  // Idempotent: read again, or an older status, changes nothing.
  CliRun again = run_cli({"delivered", id_text}, bob);
  REQUIRE_MESSAGE(again.status.clean(), again.describe());
  CHECK(again.out == "[" + id_text + "] read by bob (already read)\n");
  // The sender cannot acknowledge their own message.
  CliRun own = run_cli({"read", id_text}, alice);
  CHECK(own.status.code == 1);
  CHECK_MESSAGE(own.err.find("own_message") != std::string::npos, own.describe());

  // The JSON listener prints the events' data as they came.
  REQUIRE_MESSAGE(as_json.wait_line("\"receipt\""), as_json.describe());
  bool saw_typing = false;
  bool saw_receipt = false;
  for (const auto& line : as_json.lines()) {
    Json event = Json::parse(line, nullptr, false);
    REQUIRE_MESSAGE(event.is_object(), line);
    if (event["type"] == "typing" && event["user"] == "alice") saw_typing = true;
    if (event["type"] == "receipt") {
      saw_receipt = true;
      CHECK(event["message_id"] == id_text);
      CHECK(event["user"] == "bob");
      CHECK(event["status"] == "read");
    }
  }
  CHECK_MESSAGE(saw_typing, as_json.describe());
  CHECK(saw_receipt);

  // --quiet-events shows the message and nothing else, even after a later message.
  sent_id(run_cli({"send", "bye"}, alice));
  REQUIRE_MESSAGE(quiet.wait_line("alice: bye"), quiet.describe());
  CHECK_MESSAGE(quiet.lines().size() == 2, quiet.describe());

  // history --with: only the direct messages between the two.
  const int64_t dm = sent_id(run_cli({"send", "--to", "bob", "psst"}, alice));
  sent_id(run_cli({"send", "--to", "carol", "not with bob"}, alice));
  CliRun with_bob = run_cli({"history", "--with", "bob"}, alice);
  REQUIRE_MESSAGE(with_bob.status.clean(), with_bob.describe());
  REQUIRE_MESSAGE(with_bob.out_lines.size() == 1, with_bob.describe());
  CHECK(ends_with(with_bob.out_lines[0], fmt::format("[{}] alice → bob: psst", dm)));

  CliRun history = run_cli({"history", "--json", "--channel", "general"}, bob);
  REQUIRE_MESSAGE(history.status.clean(), history.describe());
  REQUIRE(!history.out_lines.empty());
  CHECK(Json::parse(history.out_lines[0])["status"] == "read");
}

}  // namespace relay::itest

namespace relay::itest {

TEST_CASE(
    "cli: login keeps 0600 credentials, every command then acts as that user, logout ends them") {
  RelayOptions options;
  const std::string secret = "cli-test-secret-of-at-least-32-bytes-long";
  options.message_env = {{"AUTH_MODE", "accounts"}, {"AUTH_SECRET", secret}};
  options.notify_env = {{"AUTH_MODE", "accounts"}, {"AUTH_SECRET", secret}};
  Relay relay(options);
  auto http = relay.message_http();
  REQUIRE(http.post_json("/auth/register",
                         {{"username", "alice"}, {"password", "correct horse battery"}})
              .status == 201);
  TempDir config;
  Environment env = cli_env(relay, "alice");
  env["XDG_CONFIG_HOME"] = config.path();
  const std::string file = config.path() + "/relay/credentials.json";

  // Not signed in: the service refuses, exit code 1.
  CliRun refused = run_cli({"send", "before login"}, env);
  CHECK_MESSAGE(refused.status.code == 1, refused.describe());
  CHECK(refused.err.find("unauthenticated") != std::string::npos);

  CliRun wrong = run_cli({"login"}, env, std::string("not the password\n"));
  CHECK_MESSAGE(wrong.status.code == 1, wrong.describe());
  CHECK_FALSE(std::filesystem::exists(file));

  CliRun login = run_cli({"login"}, env, std::string("correct horse battery\n"));
  REQUIRE_MESSAGE(login.status.clean(), login.describe());
  CHECK(login.out.find("signed in as alice") != std::string::npos);
  CHECK(login.out.find("correct horse") == std::string::npos);
  REQUIRE(std::filesystem::exists(file));
  auto mode = std::filesystem::status(file).permissions();
  CHECK((mode & (std::filesystem::perms::group_all | std::filesystem::perms::others_all)) ==
        std::filesystem::perms::none);

  // RELAY_USER says bob, but the services know this client as alice.
  env["RELAY_USER"] = "bob";
  int64_t id = sent_id(run_cli({"send", "signed in"}, env));
  std::ifstream kept(file);
  Json credentials =
      Json::parse(std::string(std::istreambuf_iterator<char>(kept), {}), nullptr, false);
  REQUIRE(credentials.is_object());
  auto stored = http.get("/messages/" + std::to_string(id),
                         {{"Authorization", "Bearer " + credentials.value("access_token", "")}});
  REQUIRE_MESSAGE(stored.status == 200, stored.describe());
  CHECK(stored.json()["user"] == "alice");
  CliRun history = run_cli({"history"}, env);
  REQUIRE_MESSAGE(history.status.clean(), history.describe());
  CHECK(history.out.find("signed in") != std::string::npos);

  CliRun out = run_cli({"logout"}, env);
  REQUIRE_MESSAGE(out.status.clean(), out.describe());
  CHECK_FALSE(std::filesystem::exists(file));
  CliRun after = run_cli({"send", "after logout"}, env);
  CHECK_MESSAGE(after.status.code == 1, after.describe());
}

TEST_CASE("cli: channel create --private, add, members and remove, as the signed-in user") {
  Relay relay(accounts_options());
  auto http = relay.message_http();
  register_account(http, "alice");
  Account bob = register_account(http, "bob");
  register_account(http, "carol");
  TempDir config;
  Environment alice_env = cli_env(relay, "alice");
  alice_env["XDG_CONFIG_HOME"] = config.path() + "/alice";
  REQUIRE(run_cli({"login"}, alice_env, kPassword + "\n").status.clean());
  Environment carol_env = cli_env(relay, "carol");
  carol_env["XDG_CONFIG_HOME"] = config.path() + "/carol";
  REQUIRE(run_cli({"login"}, carol_env, kPassword + "\n").status.clean());

  CliRun created = run_cli({"channel", "create", "--private", "plans"}, alice_env);
  REQUIRE_MESSAGE(created.status.clean(), created.describe());
  CHECK(created.out == "#plans (private): alice\n");
  CliRun added = run_cli({"channel", "add", "plans", "bob"}, alice_env);
  REQUIRE_MESSAGE(added.status.clean(), added.describe());
  CHECK(added.out == "#plans (private): alice, bob\n");
  CHECK(http.get("/messages?channel=plans", bearer(bob.token)).status == 200);
  CliRun listed = run_cli({"channels"}, alice_env);
  CHECK(listed.out.find("#plans (private)") != std::string::npos);

  // To carol it does not exist: exit code 1 with the service's error.
  CliRun outsider = run_cli({"channel", "members", "plans"}, carol_env);
  CHECK_MESSAGE(outsider.status.code == 1, outsider.describe());
  CHECK(outsider.err.find("channel_not_found") != std::string::npos);
  CHECK(run_cli({"channels"}, carol_env).out.find("plans") == std::string::npos);
  CHECK(run_cli({"send", "--channel", "plans", "hi"}, carol_env).status.code == 1);

  CliRun removed = run_cli({"channel", "remove", "plans", "bob"}, alice_env);
  REQUIRE_MESSAGE(removed.status.clean(), removed.describe());
  CHECK(removed.out == "#plans (private): alice\n");
  CHECK(http.get("/messages?channel=plans", bearer(bob.token)).status == 404);
  // The command line's shape is checked before any request.
  CHECK(run_cli({"channel", "add", "plans"}, alice_env).status.code == 2);
  CHECK(run_cli({"channel", "members", "--private", "plans"}, alice_env).status.code == 2);
}

}  // namespace relay::itest
