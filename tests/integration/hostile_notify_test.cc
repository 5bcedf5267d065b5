// Hostile traffic against what notify-service's routes mean (issue 10, "Hardened against hostile
// traffic"): no request may stop delivery for others. /notify is for one trusted local process,
// never a browser page; ids no store could have are refused rather than trusted by the dedupe;
// a resume point ahead of the newest id is answered with `event: reset`, never a silent gap.

#include <doctest/doctest.h>

#include "tests/integration/hostile_support.h"

namespace relay::itest {

TEST_SUITE_BEGIN("integration");

// ---- /notify from a browser ----
// Loopback is not a credential: a page on another origin can make the browser POST to
// 127.0.0.1. Anything carrying an Origin is refused (no CORS, no preflight), and so is a body a
// form or a no-cors fetch can send without a preflight (text/plain).
TEST_CASE("hostile: /notify refuses anything a browser page can send") {
  Relay relay;
  Witness witness(relay);
  const int port = relay.notify_port();
  const std::string same_origin = "http://127.0.0.1:" + std::to_string(port);
  for (const std::string& origin :
       {std::string("http://evil.example"), std::string("null"), same_origin}) {
    const std::string what = "POST /notify with Origin: " + origin;
    CAPTURE(what);
    auto answer = expect_refusal(
        what, port,
        post_notify_request(wire_message(witness.newest_id() + 1, "FROM-A-PAGE").dump(),
                            "Origin: " + origin + "\r\n"),
        {403, "", false});
    if (answer)
      CHECK_FALSE_MESSAGE(answer->has_header("Access-Control-Allow-Origin"), answer->describe());
    witness.check_unharmed(what);
  }
  {
    const std::string what = "OPTIONS /notify preflight";
    CAPTURE(what);
    auto answer = expect_refusal(
        what, port,
        raw_request("OPTIONS /notify HTTP/1.1", {"Host: 127.0.0.1", "Origin: http://evil.example",
                                                 "Access-Control-Request-Method: POST",
                                                 "Access-Control-Request-Headers: content-type"}),
        {403, "", false});
    if (answer) {
      std::string head = answer->head;
      for (char& c : head) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      CHECK_MESSAGE(head.find("access-control-allow-") == std::string::npos, answer->head);
    }
    witness.check_unharmed(what);
  }
  {
    const std::string what = "POST /notify as text/plain";
    CAPTURE(what);
    const std::string body = wire_message(witness.newest_id() + 1, "FROM-A-FORM").dump();
    expect_refusal(what, port,
                   "POST /notify HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
                   "Content-Length: " +
                       std::to_string(body.size()) + "\r\n\r\n" + body,
                   {415, "", false});
    witness.check_unharmed(what);
  }
}

// ---- ids no store could have ----
// The hub drops ids at or below the newest it delivered (the dedupe). One message with an id far
// beyond the store's newest would make it drop every real message after it; such ids are
// refused. The witness's marker, posted through message-service, proves delivery goes on.
TEST_CASE("hostile: /notify refuses ids far beyond the store's newest, and delivery goes on") {
  Relay relay;
  Witness witness(relay);
  witness.check_unharmed("nothing yet");  // the store now holds the marker, id 1
  // Smaller first: on a service that trusts them, each poisons the dedupe up to itself, so the
  // later, larger one is still judged on its own.
  for (const char* id : {"9007199254740993", "9223372036854775807"}) {
    for (bool as_number : {false, true}) {
      Json message = wire_message(1, "FAR-AHEAD");
      if (as_number) {
        message["id"] = Json::parse(id);
      } else {
        message["id"] = id;
      }
      const std::string what = "POST /notify with id " + message["id"].dump();
      CAPTURE(what);
      expect_refusal(what, relay.notify_port(), post_notify_request(message.dump()),
                     {400, "", false});
      witness.check_unharmed(what);
    }
  }
}

// ---- resume points ahead of the newest ----
// A Last-Event-ID beyond the newest id cannot be resumed from: the stream says so with
// `event: reset`, then carries what comes next (a stream that trusted it would skip every id up
// to it).
TEST_CASE("hostile: a Last-Event-ID ahead of the newest gets event: reset, then new messages") {
  Relay relay;
  HttpClient http = relay.message_http();
  int64_t newest = 0;
  for (int i = 0; i < 3; ++i) newest = id_of(post_message(http, {{"content", "stored"}}));
  REQUIRE(wait_notify_has(relay.notify_http(), newest));

  SseStream by_header(relay.notify_port(), "/events", {{"Last-Event-ID", "1000000"}});
  SseStream by_query(relay.notify_port(), "/events?last_event_id=1000000");
  for (SseStream* stream : {&by_header, &by_query}) {
    REQUIRE_MESSAGE(stream->wait_connected(10s), stream->describe());
    CHECK_MESSAGE(stream->wait_until([&] { return stream->count_events("reset") >= 1; }, 10s),
                  "no reset: " << stream->describe());
  }
  int64_t next = id_of(post_message(http, {{"content", "after the resume"}}));
  for (SseStream* stream : {&by_header, &by_query}) {
    CHECK_MESSAGE(stream->wait_message_id(next, 10s), "missed: " << stream->describe());
    CHECK(stream->problems().empty());
  }
}

TEST_SUITE_END();

}  // namespace relay::itest
