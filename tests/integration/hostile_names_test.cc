// Hostile names (issue 10, "Hardened against hostile traffic"): user names, channels and client
// ids are printed by terminals (the CLI, logs), so they refuse C0 and C1 control characters and
// other code points a terminal or a text renderer interprets (bidi overrides). Sent JSON-escaped
// in bodies and percent-encoded in queries; each is refused with its code and nothing is stored.

#include <doctest/doctest.h>

#include "tests/integration/hostile_support.h"

namespace relay::itest {

TEST_SUITE_BEGIN("integration");

TEST_CASE("hostile: names with C0, C1 or bidi control characters are refused, nothing stored") {
  Relay relay;
  Witness witness(relay);

  // In a POST /messages body, JSON-escaped (the bytes on the wire are plain ASCII).
  struct BodyCase {
    std::string what;
    std::string body;
    std::string error;
  };
  const std::vector<BodyCase> bodies = {
      {"user with U+0085 (NEL)", R"({"content":"x","user":"a\u0085b"})", "invalid_user"},
      {"user with U+009B (CSI)", R"({"content":"x","user":"\u009b31m"})", "invalid_user"},
      {"user with U+0007 (BEL)", R"({"content":"x","user":"a\u0007b"})", "invalid_user"},
      {"user with U+202E (RLO)", R"({"content":"x","user":"\u202eevil"})", "invalid_user"},
      {"channel with U+0085", R"({"content":"x","channel":"gen\u0085eral"})", "invalid_channel"},
      {"recipient with U+009B", R"({"content":"x","to":"a\u009bb"})", "invalid_to"},
  };
  for (const auto& c : bodies) {
    CAPTURE(c.what);
    expect_refusal(c.what, relay.message_port(), post_messages_request(c.body),
                   {400, c.error, false});
    witness.check_unharmed(c.what);
  }

  // In the query of GET /events, percent-encoded UTF-8.
  struct QueryCase {
    std::string target;
    std::string error;  // or bad_request, for a server that refuses the query as a whole
  };
  const std::vector<QueryCase> queries = {
      {"/events?user=a%C2%85b", "invalid_user"},
      {"/events?user=%E2%80%AEevil", "invalid_user"},
      {"/events?client_id=a%C2%9Bb", "invalid_client_id"},
      {"/events?channels=gen%C2%85eral", "invalid_channel"},
  };
  for (const auto& c : queries) {
    const std::string what = "GET " + c.target;
    CAPTURE(what);
    auto answer = expect_refusal(what, relay.notify_port(),
                                 raw_request("GET " + c.target + " HTTP/1.1", {"Host: 127.0.0.1"}),
                                 {400, "", false});
    if (answer && answer->status == 400 && answer->json().is_object()) {
      std::string error = answer->json().value("error", "");
      CHECK_MESSAGE((error == c.error || error == "bad_request"), answer->describe());
    }
    witness.check_unharmed(what);
  }
}

TEST_SUITE_END();

}  // namespace relay::itest
