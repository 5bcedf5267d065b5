#pragma once

// The black-box cases that apply in both AUTH_MODEs run in both, each mode its own ctest test:
//
//   TEST_CASE_TEMPLATE("fan-out: ...", Mode, OpenMode, AccountsMode) {
//     ModeRelay relay(Mode{});
//     HttpClient alice = relay.message_as("alice");   // posts as alice in either mode
//     SseStream bob(relay.notify_port(), "/events?user=bob", relay.as("bob"));
//
// ctest names them "fan-out: ...<open>" and "fan-out: ...<accounts>". Those that hold for the
// shared-store topology too add SharedStoreMode ("...<postgres>"): open mode, with the store in a
// real PostgreSQL (STORE=postgres) and the bus a real Redis (BROKER=redis), as several instances
// run them. In open mode a caller is
// only the name its body or query gives, and requests carry no credential. In accounts mode each
// name is an account, registered over the real API on first use, whose Bearer token every
// request made "as" it carries; a body's or a query's `user` then must be that same name, as for
// a real client. So a case written once says the same thing in both modes.

#include <map>
#include <string>

#include "tests/integration/bus_support.h"
#include "tests/support/postgres_server.h"

namespace relay::itest {

struct OpenMode {
  static constexpr bool kAccounts = false;
  static constexpr bool kSharedStore = false;
};
struct AccountsMode {
  static constexpr bool kAccounts = true;
  static constexpr bool kSharedStore = false;
};
struct SharedStoreMode {
  static constexpr bool kAccounts = false;
  static constexpr bool kSharedStore = true;
};

/// SharedStoreMode's engines, started before the services and stopped after them (a base of
/// ModeRelay, so it is built before Relay and destroyed after it); empty in the other modes.
struct SharedEngines {
  explicit SharedEngines(bool start);
  /// `options` with STORE=postgres, DATABASE_URL and the bus's settings, when started.
  RelayOptions apply(RelayOptions options) const;

  std::unique_ptr<Bus> bus;
  std::unique_ptr<PostgresServer> postgres;
};

/// Both services in one AUTH_MODE, and the callers a case speaks as. Accounts mode lifts the
/// per-user message rate and stream limits (the cases post and stream in bulk as one user; the
/// limits have their own tests in accounts_test.cc). A case may use at most 5 names: the
/// per-address registration throttle. Drive it from the test's main thread (as()/message_as()
/// register on first use); the clients and headers it returns may be used from any thread.
class ModeRelay : private SharedEngines, public Relay {
 public:
  template <class Mode>
  explicit ModeRelay(Mode, RelayOptions options = {})
      : ModeRelay(Mode::kAccounts, Mode::kSharedStore, options) {}
  ModeRelay(bool accounts, bool shared_store, RelayOptions options);

  bool accounts() const { return accounts_; }
  bool shared_store() const { return postgres != nullptr; }
  const char* mode_name() const {
    return accounts_ ? "accounts" : (shared_store() ? "postgres" : "open");
  }

  /// The headers a request from `user` carries: none in open mode, `Authorization: Bearer` with
  /// `user`'s token in accounts mode. "" is a reader nobody writes to (the account "watcher").
  httplib::Headers as(const std::string& user = "");
  /// `extra` (e.g. Last-Event-ID) and the headers of a request from `user`.
  httplib::Headers as(const std::string& user, httplib::Headers extra);
  /// A message-service / notify-service client whose every request comes from `user`.
  HttpClient message_as(const std::string& user = "");
  HttpClient notify_as(const std::string& user = "");

 private:
  bool accounts_;
  std::map<std::string, std::string> tokens_;  // user -> access token (accounts mode)
};

}  // namespace relay::itest

TYPE_TO_STRING_AS("open", relay::itest::OpenMode);
TYPE_TO_STRING_AS("accounts", relay::itest::AccountsMode);
TYPE_TO_STRING_AS("postgres", relay::itest::SharedStoreMode);
