#include "tests/integration/auth_modes.h"

#include <doctest/doctest.h>

#include "tests/integration/accounts_support.h"

namespace relay::itest {

namespace {

RelayOptions in_mode(bool accounts, RelayOptions options) {
  if (!accounts) return options;
  RelayOptions moded =
      accounts_options({{"RATE_MESSAGES_BURST", "100000"}, {"RATE_MESSAGES_PER_SEC", "100000"}},
                       {{"MAX_STREAMS_PER_USER", "1000"}});
  for (auto& [name, value] : options.message_env) moded.message_env[name] = value;
  for (auto& [name, value] : options.notify_env) moded.notify_env[name] = value;
  moded.start_message = options.start_message;
  moded.start_notify = options.start_notify;
  return moded;
}

}  // namespace

SharedEngines::SharedEngines(bool start) {
  if (!start) return;
  bus = std::make_unique<Bus>();
  postgres = std::make_unique<PostgresServer>(bus->dir.subdir("postgres"));
  REQUIRE_MESSAGE(postgres->start(), postgres->diagnostics());
}

RelayOptions SharedEngines::apply(RelayOptions options) const {
  if (!postgres) return options;
  options.message_env["STORE"] = "postgres";
  options.message_env["DATABASE_URL"] = postgres->url();
  return bus->options(std::move(options));
}

ModeRelay::ModeRelay(bool accounts, bool shared_store, RelayOptions options)
    : SharedEngines(shared_store),
      Relay(apply(in_mode(accounts, std::move(options)))),
      accounts_(accounts) {
  // Events and typing reach a notify-service from the moment its Redis feed is primed.
  if (shared_store && notify().running()) wait_ready(notify_port(), accounts);
}

httplib::Headers ModeRelay::as(const std::string& user) {
  if (!accounts_) return {};
  const std::string name = user.empty() ? "watcher" : user;
  auto known = tokens_.find(name);
  if (known == tokens_.end()) {
    Account account = register_account(message_http(), name);
    known = tokens_.emplace(name, account.token).first;
  }
  return bearer(known->second);
}

httplib::Headers ModeRelay::as(const std::string& user, httplib::Headers extra) {
  httplib::Headers credential = as(user);
  extra.insert(credential.begin(), credential.end());
  return extra;
}

HttpClient ModeRelay::message_as(const std::string& user) {
  return message_http().with_headers(as(user));
}

HttpClient ModeRelay::notify_as(const std::string& user) {
  return notify_http().with_headers(as(user));
}

}  // namespace relay::itest
