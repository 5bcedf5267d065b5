// Unit tests of POST /notify's pieces that need no socket: the batch reader, the id guard, the
// head check, and the reading of message-service's /log answers.

#include "notify-service/notify_batch.h"

#include <string>
#include <variant>
#include <vector>

#include <doctest/doctest.h>

#include "notify-service/history_client.h"
#include "notify-service/id_guard.h"
#include "notify-service/notify_routes.h"

namespace relay {
namespace {

nlohmann::json wire(nlohmann::json id, const std::string& content = "x") {
  return {{"id", std::move(id)},
          {"content", content},
          {"user", "u"},
          {"channel", "general"},
          {"timestamp", "2026-01-02T03:04:05.678Z"}};
}

ApiError batch_error(const std::string& body) {
  auto result = parse_notify_batch(body);
  const auto* error = std::get_if<ApiError>(&result);
  REQUIRE_MESSAGE(error != nullptr, "accepted: " << body.substr(0, 200));
  return *error;
}

std::vector<int64_t> batch_ids(const std::string& body) {
  auto result = parse_notify_batch(body);
  const auto* error = std::get_if<ApiError>(&result);
  REQUIRE_MESSAGE(error == nullptr, body.substr(0, 200) << ": " << (error ? error->detail : ""));
  std::vector<int64_t> ids;
  for (const auto& message : std::get<std::vector<Message>>(result)) ids.push_back(message.id);
  return ids;
}

// A store-last-id source that counts its calls.
struct FakeStore {
  std::optional<int64_t> last_id;
  int calls = 0;
  StoreLastIdFetch fetch() {
    return [this] {
      ++calls;
      return last_id;
    };
  }
};

HttpRequest notify_head(std::vector<std::pair<std::string, std::string>> headers,
                        std::string remote = "127.0.0.1") {
  HttpRequest request;
  request.method = "POST";
  request.path = "/notify";
  request.headers = std::move(headers);
  request.remote_addr = std::move(remote);
  return request;
}

}  // namespace

TEST_SUITE_BEGIN("notify");

TEST_CASE("notify batch: one object or an array, sorted by id") {
  CHECK(batch_ids(wire(5).dump()) == std::vector<int64_t>{5});
  CHECK(batch_ids(nlohmann::json::array({wire(3), wire("1"), wire(2)}).dump()) ==
        std::vector<int64_t>{1, 2, 3});
  CHECK(batch_ids("[]").empty());
  nlohmann::json typing = {{"type", "typing"},
                           {"user", "u"},
                           {"channel", "general"},
                           {"timestamp", "2026-01-02T03:04:05.678Z"}};
  CHECK(batch_ids(nlohmann::json::array({wire(4), typing}).dump()) == std::vector<int64_t>{0, 4});
}

TEST_CASE("notify batch: what is accepted, written back as the forwarder does, reads the same") {
  // Found by fuzz_notify_batch (fuzz/regressions/fuzz_notify_batch/receipt-with-content): the
  // receipt's "content" was kept but never written, so the batch did not read back the same.
  const std::string body =
      R"([{"id":"4","content":"m","type":"receipt","message_id":"4","user":"","status":"read",)"
      R"("channel":"0","timestamp":"2026-11-23T15:31:24Z"}, )" +
      wire(3, "hello").dump() + "]";
  auto first = parse_notify_batch(body);
  REQUIRE(std::holds_alternative<std::vector<Message>>(first));
  const auto& batch = std::get<std::vector<Message>>(first);
  REQUIRE(batch.size() == 2);
  CHECK(batch[0].content == "hello");
  CHECK(batch[1].kind == EventKind::kReceipt);
  CHECK(batch[1].content.empty());

  nlohmann::json written = nlohmann::json::array();
  for (const Message& message : batch) written.push_back(event_to_json(message));
  auto second = parse_notify_batch(dump_json(written));
  REQUIRE(std::holds_alternative<std::vector<Message>>(second));
  const auto& again = std::get<std::vector<Message>>(second);
  REQUIRE(again.size() == batch.size());
  for (size_t i = 0; i < batch.size(); ++i) {
    CAPTURE(i);
    CHECK(again[i].kind == batch[i].kind);
    CHECK(again[i].id == batch[i].id);
    CHECK(again[i].content == batch[i].content);
    CHECK(again[i].user == batch[i].user);
    CHECK(again[i].channel == batch[i].channel);
    CHECK(again[i].message_id == batch[i].message_id);
    CHECK(again[i].timestamp_ms == batch[i].timestamp_ms);
  }
}

TEST_CASE("notify batch: ids that cannot be real are invalid_message") {
  CHECK(batch_ids(wire(kMaxNotifyId).dump()) == std::vector<int64_t>{kMaxNotifyId});
  CHECK(batch_ids(wire("9007199254740991").dump()) == std::vector<int64_t>{kMaxNotifyId});
  for (const nlohmann::json& id :
       {nlohmann::json(0), nlohmann::json(-1), nlohmann::json("0"), nlohmann::json("-5"),
        nlohmann::json(9007199254740992), nlohmann::json("9007199254740992"),
        nlohmann::json(INT64_MAX), nlohmann::json("9223372036854775807"),
        nlohmann::json(UINT64_MAX), nlohmann::json("99999999999999999999"), nlohmann::json(1.5),
        nlohmann::json(nullptr)}) {
    CAPTURE(id.dump());
    ApiError error = batch_error(wire(id).dump());
    CHECK(error.status == 400);
    CHECK(error.code == "invalid_message");
    // One bad item refuses the whole batch.
    CHECK(batch_error(nlohmann::json::array({wire(1), wire(id)}).dump()).code == "invalid_message");
  }
  nlohmann::json receipt = {{"type", "receipt"},
                            {"id", 7},
                            {"message_id", 9007199254740992},
                            {"user", "u"},
                            {"status", "read"},
                            {"channel", "general"},
                            {"timestamp", "2026-01-02T03:04:05.678Z"}};
  CHECK(batch_error(receipt.dump()).code == "invalid_message");
  receipt["message_id"] = 6;
  CHECK(batch_ids(receipt.dump()) == std::vector<int64_t>{7});
}

TEST_CASE("notify batch: malformed bodies, bad items and too many items are refused") {
  CHECK(batch_error("").code == "invalid_json");
  CHECK(batch_error("{\"id\":").code == "invalid_json");
  CHECK(batch_error("garbage \x01\xFF").code == "invalid_json");
  CHECK(batch_error("42").code == "invalid_message");
  CHECK(batch_error("[42]").code == "invalid_message");
  nlohmann::json bad_channel = wire(1);
  bad_channel["channel"] = "two words";
  CHECK(batch_error(bad_channel.dump()).code == "invalid_message");
  CHECK(batch_error(std::string(100000, '[') + std::string(100000, ']')).code == "invalid_message");

  std::string at_limit = "[";
  for (size_t i = 0; i < kMaxNotifyBatchItems; ++i) at_limit += i == 0 ? "{}" : ",{}";
  CHECK(batch_error(at_limit + "]").code == "invalid_message");  // counted, then read
  ApiError too_many = batch_error(at_limit + ",{}]");
  CHECK(too_many.status == 400);
  CHECK(too_many.code == "too_many_messages");
}

TEST_CASE("id guard: ids near the hub's newest are taken without asking the store") {
  FakeStore store;
  IdGuard guard(store.fetch(), 100);
  CHECK(guard.check(0, 0).verdict == IdGuard::Verdict::kAccept);  // typing only
  CHECK(guard.check(0, 100).verdict == IdGuard::Verdict::kAccept);
  CHECK(guard.check(500, 600).verdict == IdGuard::Verdict::kAccept);
  CHECK(guard.check(500, 3).verdict == IdGuard::Verdict::kAccept);  // duplicates
  CHECK(guard.check(INT64_MAX, INT64_MAX).verdict == IdGuard::Verdict::kAccept);
  CHECK(store.calls == 0);
}

TEST_CASE("id guard: ids far beyond are checked against the store's newest, which is cached") {
  FakeStore store;
  store.last_id = 5000;
  IdGuard guard(store.fetch(), 100);
  SUBCASE("a fresh hub and a real id") {
    auto decision = guard.check(0, 5000);
    CHECK(decision.verdict == IdGuard::Verdict::kAccept);
    CHECK(decision.store_last_id == 5000);
    CHECK(store.calls == 1);
    CHECK(guard.check(0, 4000).verdict == IdGuard::Verdict::kAccept);  // cached
    CHECK(store.calls == 1);
  }
  SUBCASE("an id above the store's newest is implausible, every time") {
    auto decision = guard.check(10, 9223372036854775807);
    CHECK(decision.verdict == IdGuard::Verdict::kImplausible);
    CHECK(decision.store_last_id == 5000);
    CHECK(guard.check(0, 5001).verdict == IdGuard::Verdict::kImplausible);
    CHECK(store.calls == 2);
    // The store moved on: the same id is real now.
    store.last_id = 6000;
    CHECK(guard.check(0, 5001).verdict == IdGuard::Verdict::kAccept);
    CHECK(store.calls == 3);
  }
  SUBCASE("a store that cannot be read cannot verify") {
    store.last_id = std::nullopt;
    auto decision = guard.check(0, 101);
    CHECK(decision.verdict == IdGuard::Verdict::kCannotVerify);
    CHECK_FALSE(decision.store_last_id);
    CHECK(guard.check(0, 100).verdict == IdGuard::Verdict::kAccept);
  }
  SUBCASE("without a store nothing beyond the gap is verified") {
    IdGuard alone({}, 100);
    CHECK(alone.check(0, 101).verdict == IdGuard::Verdict::kCannotVerify);
    CHECK(alone.check(1000, 1100).verdict == IdGuard::Verdict::kAccept);
  }
}

TEST_CASE("notify head check: Origin, media type and the credential, before the body") {
  NotifyServiceConfig open;
  NotifyServiceConfig with_token;
  with_token.notify_token = "s3cret-token";
  const std::pair<std::string, std::string> json = {"content-type", "application/json"};
  const std::pair<std::string, std::string> bearer = {"authorization", "Bearer s3cret-token"};

  CHECK_FALSE(check_notify_head(notify_head({json}), open));
  CHECK_FALSE(check_notify_head(notify_head({json}, "::1"), open));
  CHECK_FALSE(check_notify_head(notify_head({json, bearer}, "10.0.0.9"), with_token));
  CHECK_FALSE(check_notify_head(
      notify_head({{"content-type", "application/json; charset=utf-8"}, bearer}), with_token));

  struct Case {
    const char* what;
    HttpRequest head;
    const NotifyServiceConfig& config;
    int status;
    std::string code;
  };
  const std::vector<Case> refused = {
      {"Origin", notify_head({json, {"origin", "http://evil.example"}}), open, 403, "forbidden"},
      {"Origin with the token", notify_head({json, bearer, {"origin", "null"}}), with_token, 403,
       "forbidden"},
      {"empty Origin", notify_head({json, {"origin", ""}}), open, 403, "forbidden"},
      {"text/plain", notify_head({{"content-type", "text/plain"}}), open, 415,
       "unsupported_media_type"},
      {"no Content-Type", notify_head({}), open, 415, "unsupported_media_type"},
      {"form", notify_head({{"content-type", "application/x-www-form-urlencoded"}, bearer}),
       with_token, 415, "unsupported_media_type"},
      {"no token", notify_head({json}), with_token, 401, "unauthorized"},
      {"wrong token", notify_head({json, {"authorization", "Bearer s3cret-tokem"}}), with_token,
       401, "unauthorized"},
      {"token prefix", notify_head({json, {"authorization", "Bearer s3cret"}}), with_token, 401,
       "unauthorized"},
      {"remote peer without a token", notify_head({json}, "10.0.0.9"), open, 403, "forbidden"},
  };
  for (const auto& c : refused) {
    CAPTURE(c.what);
    auto reply = check_notify_head(c.head, c.config);
    REQUIRE(reply);
    CHECK(reply->status == c.status);
    auto body = nlohmann::json::parse(reply->body, nullptr, false);
    CHECK(body.value("error", "") == c.code);
    bool challenges = false;
    for (const auto& [name, value] : reply->headers) {
      challenges = challenges || (name == "WWW-Authenticate" && value == "Bearer");
    }
    CHECK(challenges == (c.status == 401));
  }
  auto browser = check_notify_head(notify_head({json, {"origin", "http://a"}}), open);
  REQUIRE(browser);
  CHECK(nlohmann::json::parse(browser->body) ==
        nlohmann::json{{"error", "forbidden"}, {"detail", "POST /notify is not for browsers"}});
}

TEST_CASE("history client: a /log answer gives its events and the store's newest id") {
  auto page = parse_log_answer(nlohmann::json{
      {"events", nlohmann::json::array({wire("3"), wire("4")})},
      {"last_id", "42"}}.dump());
  REQUIRE(page);
  REQUIRE(page->events.size() == 2);
  CHECK(page->events[1].id == 4);
  CHECK(page->store_last_id == 42);

  auto numeric = parse_log_answer(R"({"events":[],"last_id":7})");
  REQUIRE(numeric);
  CHECK(numeric->store_last_id == 7);
  auto empty_store = parse_log_answer(R"({"events":[],"last_id":"0"})");
  REQUIRE(empty_store);
  CHECK(empty_store->store_last_id == 0);

  // Without a usable last_id the page still reads; the newest id is unknown.
  for (const char* body :
       {R"({"events":[]})", R"({"events":[],"last_id":"x"})", R"({"events":[],"last_id":-1})",
        R"({"events":[],"last_id":null})", R"({"events":[],"last_id":"99999999999999999999"})"}) {
    CAPTURE(body);
    auto unknown = parse_log_answer(body);
    REQUIRE(unknown);
    CHECK_FALSE(unknown->store_last_id);
  }
  for (const char* body : {"", "[]", R"({"last_id":"3"})", R"({"events":{}})",
                           R"({"events":[{"id":"x"}],"last_id":"3"})"}) {
    CAPTURE(body);
    CHECK_FALSE(parse_log_answer(body));
  }
}

TEST_CASE("notify batch: nesting deeper than any stack, in any place, is read without recursion") {
  constexpr size_t kDepth = 200000;
  // Unclosed: not JSON.
  CHECK(batch_error(std::string(kDepth, '[')).code == "invalid_json");
  // Closed, as an item: an item that is not an object.
  std::string deep = std::string(kDepth, '[') + std::string(kDepth, ']');
  ApiError item = batch_error("[" + deep + "]");
  CHECK(item.code == "invalid_message");
  CHECK(item.detail == "message 0: each message must be a JSON object");
  // As the value of a field no message has: passed over, the message is read.
  nlohmann::json message = wire(7);
  std::string text = message.dump();
  text.insert(1, "\"extra\":" + deep + ",");
  CHECK(batch_ids(text) == std::vector<int64_t>{7});
  // As the value of a field a message has (given last, so it is the one that counts): refused.
  std::string as_user = message.dump();
  as_user.insert(as_user.size() - 1, ",\"user\":" + deep);
  CHECK(batch_error(as_user).code == "invalid_message");
}

TEST_SUITE_END();

}  // namespace relay
