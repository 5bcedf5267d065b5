// Unit tests for the parts accounts are made of: access tokens and stream tickets (libjwt), the
// signing key and its file, password hashes (libargon2) and the account store (a real SQLite
// file).
#include <doctest/doctest.h>

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "message-service/account_store.h"
#include "message-service/login_throttle.h"
#include "message-service/password_hash.h"
#include "message-service/revoked_sessions.h"
#include "notify-service/used_tickets.h"
#include "shared/auth/access_token.h"
#include "shared/auth/auth_key.h"
#include "shared/auth/jwt_hs256.h"
#include "shared/auth/request_auth.h"
#include "shared/auth/stream_ticket.h"
#include "shared/validation.h"
#include "tests/support/child_process.h"

namespace relay {
namespace {

const std::string kKey(32, 'k');
constexpr int64_t kNow = 1'800'000'000;

AccessClaims claims_for(std::string user, int64_t expires_at_s = kNow + 900) {
  return AccessClaims{std::move(user), "session-1", kNow, expires_at_s, {}};
}

// base64url without padding, as JWTs spell their parts.
std::string base64url(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8) | uint8_t(bytes[i + 2]);
    for (int shift : {18, 12, 6, 0}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  if (i + 1 == bytes.size()) {
    uint32_t n = uint8_t(bytes[i]) << 16;
    for (int shift : {18, 12}) out.push_back(kAlphabet[(n >> shift) & 63]);
  } else if (i + 2 == bytes.size()) {
    uint32_t n = (uint8_t(bytes[i]) << 16) | (uint8_t(bytes[i + 1]) << 8);
    for (int shift : {18, 12, 6}) out.push_back(kAlphabet[(n >> shift) & 63]);
  }
  return out;
}

std::vector<std::string> split_dots(const std::string& token) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (size_t dot; (dot = token.find('.', start)) != std::string::npos; start = dot + 1) {
    parts.push_back(token.substr(start, dot - start));
  }
  parts.push_back(token.substr(start));
  return parts;
}

std::string payload_json(std::string_view user, int64_t exp) {
  return "{\"exp\":" + std::to_string(exp) + ",\"iat\":" + std::to_string(kNow) +
         ",\"sid\":\"session-1\",\"sub\":\"" + std::string(user) + "\"}";
}

TEST_CASE("an access token signed with the key verifies and gives back its claims") {
  auto token = sign_access_token(kKey, claims_for("alice"));
  REQUIRE(token);
  CHECK(split_dots(*token).size() == 3);
  auto claims = verify_access_token(kKey, *token, kNow);
  REQUIRE(claims);
  CHECK(claims->user == "alice");
  CHECK(claims->session_id == "session-1");
  CHECK(claims->issued_at_s == kNow);
  CHECK(claims->expires_at_s == kNow + 900);
}

TEST_CASE("an access token is refused when expired, under another key, altered or unsigned") {
  auto token = sign_access_token(kKey, claims_for("alice"));
  REQUIRE(token);
  SUBCASE("expired: exp is now or earlier") {
    CHECK_FALSE(verify_access_token(kKey, *token, kNow + 900));
    CHECK_FALSE(verify_access_token(kKey, *token, kNow + 5000));
    CHECK(verify_access_token(kKey, *token, kNow + 899));
  }
  SUBCASE("another key") {
    CHECK_FALSE(verify_access_token(std::string(32, 'x'), *token, kNow));
    CHECK_FALSE(verify_access_token("", *token, kNow));
  }
  SUBCASE("the payload altered (another user), the signature kept") {
    auto parts = split_dots(*token);
    std::string forged =
        parts[0] + "." + base64url(payload_json("mallory", kNow + 900)) + "." + parts[2];
    CHECK_FALSE(verify_access_token(kKey, forged, kNow));
  }
  SUBCASE("alg none, with and without a signature part") {
    std::string header = base64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
    std::string body = base64url(payload_json("alice", kNow + 900));
    CHECK_FALSE(verify_access_token(kKey, header + "." + body + ".", kNow));
    CHECK_FALSE(verify_access_token(kKey, header + "." + body + "." + split_dots(*token)[2], kNow));
  }
  SUBCASE("another algorithm named in the header") {
    auto parts = split_dots(*token);
    std::string header = base64url("{\"alg\":\"HS512\",\"typ\":\"JWT\"}");
    CHECK_FALSE(verify_access_token(kKey, header + "." + parts[1] + "." + parts[2], kNow));
  }
  SUBCASE("garbage, truncation, padding, oversize") {
    for (std::string bad :
         {std::string(), std::string("."), std::string(".."), std::string("a.b.c"),
          token->substr(0, token->size() - 1), *token + "=", *token + ".x", " " + *token,
          std::string(4096, 'a'), std::string("\0\0", 2) + *token}) {
      CAPTURE(bad);
      CHECK_FALSE(verify_access_token(kKey, bad, kNow));
    }
  }
}

TEST_CASE("an access token whose subject is not a valid user name is refused") {
  // Signed with our key, so only the claim check stands between it and a caller named "\n".
  for (std::string user : {std::string(""), std::string("a\nb"), std::string(200, 'a')}) {
    auto token = sign_access_token(kKey, claims_for(user));
    REQUIRE(token);
    CHECK_FALSE(verify_access_token(kKey, *token, kNow));
  }
  auto no_session = sign_access_token(kKey, AccessClaims{"alice", "", kNow, kNow + 900, {}});
  REQUIRE(no_session);
  CHECK_FALSE(verify_access_token(kKey, *no_session, kNow));
}

TEST_CASE("the signing key: AUTH_SECRET needs 32 bytes, the key file is created 0600 and reused") {
  CHECK_FALSE(auth_key_from_secret(std::string(31, 's')).error.empty());
  CHECK(auth_key_from_secret(std::string(32, 's')).key == std::string(32, 's'));

  testing::TempDir dir;
  std::string path = dir.path() + "/auth.key";
  CHECK_FALSE(read_key_file(path).error.empty());  // not there yet
  AuthKey created = load_or_create_key_file(path);
  REQUIRE_MESSAGE(created.error.empty(), created.error);
  CHECK(created.key.size() == 32);
  struct stat info {};
  REQUIRE(::stat(path.c_str(), &info) == 0);
  CHECK((info.st_mode & 0777) == 0600);
  CHECK(load_or_create_key_file(path).key == created.key);  // the second start reads it
  CHECK(read_key_file(path).key == created.key);
  AuthKey other = load_or_create_key_file(dir.path() + "/other.key");
  CHECK(other.key != created.key);

  SUBCASE("a key file others may read is refused") {
    REQUIRE(::chmod(path.c_str(), 0644) == 0);
    CHECK_FALSE(read_key_file(path).error.empty());
    CHECK_FALSE(load_or_create_key_file(path).error.empty());
  }
  SUBCASE("a short key file is refused") {
    std::string short_path = dir.path() + "/short.key";
    std::ofstream(short_path) << "too short";
    REQUIRE(::chmod(short_path.c_str(), 0600) == 0);
    CHECK_FALSE(read_key_file(short_path).error.empty());
  }
}

TEST_CASE("random_hex gives distinct hex strings of twice the length") {
  std::string a = random_hex(32);
  std::string b = random_hex(32);
  CHECK(a.size() == 64);
  CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  CHECK(a != b);
}

TEST_CASE("password hashes: Argon2id, salted, checked, never the password") {
  auto hash = hash_password("correct horse battery");
  REQUIRE(hash);
  CHECK(hash->rfind("$argon2id$", 0) == 0);
  CHECK(hash->find("correct horse") == std::string::npos);
  auto again = hash_password("correct horse battery");
  REQUIRE(again);
  CHECK(*again != *hash);  // a salt of its own
  CHECK(verify_password("correct horse battery", *hash));
  CHECK(verify_password("correct horse battery", *again));
  CHECK_FALSE(verify_password("correct horse batterY", *hash));
  CHECK_FALSE(verify_password("", *hash));
  CHECK_FALSE(verify_password("correct horse battery", ""));  // no such user
  CHECK_FALSE(verify_password("correct horse battery", "$argon2id$garbage"));
}

TEST_CASE("the account store: users, taken names, sessions, logout, removal") {
  testing::TempDir dir;
  std::string error;
  auto accounts = AccountStore::open(dir.path(), &error);
  REQUIRE_MESSAGE(accounts, error);
  CHECK(accounts->create_user("alice", "hash-a", 1000, &error) ==
        AccountStore::CreateOutcome::kCreated);
  CHECK(accounts->create_user("alice", "hash-b", 1001, &error) ==
        AccountStore::CreateOutcome::kTaken);
  CHECK(accounts->create_user("Alice", "hash-c", 1002, &error) ==
        AccountStore::CreateOutcome::kCreated);  // names compare exactly
  auto hash = accounts->password_hash("alice");
  REQUIRE(hash.ok());
  CHECK(**hash == "hash-a");
  auto missing = accounts->password_hash("bob");
  REQUIRE(missing.ok());
  CHECK_FALSE(missing->has_value());

  auto session = accounts->create_session("alice", 2000, 10'000);
  REQUIRE(session.ok());
  CHECK(session->id.size() == 64);
  CHECK(session->expires_ms == 12'000);
  auto live = accounts->live_session(session->id, 2500);
  REQUIRE(live.ok());
  REQUIRE(live->has_value());
  CHECK((*live)->user == "alice");
  auto expired = accounts->live_session(session->id, 12'000);
  REQUIRE(expired.ok());
  CHECK_FALSE(expired->has_value());
  auto unknown = accounts->live_session("no-such-session", 2500);
  REQUIRE(unknown.ok());
  CHECK_FALSE(unknown->has_value());

  SUBCASE("logout ends the session once and lists it as ended") {
    auto ended = accounts->end_session(session->id, 3000);
    REQUIRE(ended.ok());
    CHECK(*ended);
    auto twice = accounts->end_session(session->id, 3001);
    REQUIRE(twice.ok());
    CHECK_FALSE(*twice);
    auto after = accounts->live_session(session->id, 3002);
    REQUIRE(after.ok());
    CHECK_FALSE(after->has_value());
    auto list = accounts->ended_since(2999);
    REQUIRE(list.ok());
    CHECK(*list == std::vector<std::string>{session->id});
    auto none = accounts->ended_since(3001);
    REQUIRE(none.ok());
    CHECK(none->empty());
  }
  SUBCASE("removing a user ends their sessions and frees the name") {
    auto removed = accounts->remove_user("alice", 4000);
    REQUIRE(removed.ok());
    CHECK(*removed);
    auto after = accounts->live_session(session->id, 4001);
    REQUIRE(after.ok());
    CHECK_FALSE(after->has_value());
    auto list = accounts->ended_since(4000);
    REQUIRE(list.ok());
    CHECK(list->size() == 1);
    auto again = accounts->remove_user("alice", 4002);
    REQUIRE(again.ok());
    CHECK_FALSE(*again);
    CHECK(accounts->create_user("alice", "hash-d", 4003, &error) ==
          AccountStore::CreateOutcome::kCreated);
  }
  SUBCASE("the accounts survive a reopen") {
    accounts.reset();
    accounts = AccountStore::open(dir.path(), &error);
    REQUIRE_MESSAGE(accounts, error);
    auto reread = accounts->password_hash("alice");
    REQUIRE(reread.ok());
    CHECK(**reread == "hash-a");
    auto still = accounts->live_session(session->id, 2500);
    REQUIRE(still.ok());
    CHECK(still->has_value());
  }
}

}  // namespace
}  // namespace relay

namespace relay {
namespace {

TEST_CASE("login throttle: five failures within the window block a key until the window ends") {
  using namespace std::chrono_literals;
  LoginThrottle throttle(5, 15min, 3);
  auto start = LoginThrottle::Clock::now();
  for (int i = 0; i < 4; ++i) throttle.record_failure("alice", start + std::chrono::seconds(i));
  CHECK(throttle.retry_after_s("alice", start + 10s) == 0);
  throttle.record_failure("alice", start + 10s);
  CHECK(throttle.retry_after_s("alice", start + 10s) == 890);  // 15 min from the first
  CHECK(throttle.retry_after_s("alice", start + 14min) == 60);
  CHECK(throttle.retry_after_s("alice", start + 15min) == 0);  // the window passed
  CHECK(throttle.retry_after_s("bob", start) == 0);

  SUBCASE("a success clears the key") {
    for (int i = 0; i < 5; ++i) throttle.record_failure("carol", start);
    CHECK(throttle.retry_after_s("carol", start) > 0);
    throttle.forget("carol");
    CHECK(throttle.retry_after_s("carol", start) == 0);
  }
  SUBCASE("a flood of distinct keys keeps the table bounded") {
    for (int i = 0; i < 1000; ++i) throttle.record_failure("key" + std::to_string(i), start);
    // Nothing to assert on the size from outside but that it still works and stays small: the
    // newest key is tracked.
    for (int i = 0; i < 4; ++i) throttle.record_failure("key999", start);
    CHECK(throttle.retry_after_s("key999", start) > 0);
  }
}

TEST_CASE(
    "revoked sessions: ended sessions are refused until their tokens expire, then forgotten") {
  RevokedSessions revoked;
  revoked.add("s1", 100, 0);
  CHECK(revoked.contains("s1"));
  CHECK_FALSE(revoked.contains("s2"));
  for (int i = 0; i < 2000; ++i) revoked.add("old" + std::to_string(i), 50, 0);
  CHECK(revoked.contains("old5"));  // not expired at 0: the sweep at 1,024 kept them all
  // Later, once the set has doubled again, a sweep drops everything expired by then.
  for (int i = 0; i < 100; ++i) revoked.add("late" + std::to_string(i), 10'000, 200);
  CHECK(revoked.size() < 200);
  CHECK_FALSE(revoked.contains("old5"));
  CHECK_FALSE(revoked.contains("s1"));
  CHECK(revoked.contains("late99"));
}

TEST_CASE("cookies: values found by exact name, quoted or not, and set-cookie attributes") {
  CHECK(cookie_value("relay_access=abc", "relay_access") == "abc");
  CHECK(cookie_value("a=1; relay_access=abc; b=2", "relay_access") == "abc");
  CHECK(cookie_value("a=1;relay_access=\"abc\"", "relay_access") == "abc");
  CHECK_FALSE(cookie_value("xrelay_access=abc", "relay_access"));
  CHECK_FALSE(cookie_value("relay_access", "relay_access"));
  CHECK_FALSE(cookie_value("", "relay_access"));
  std::string set = set_cookie_value("relay_session", "id", 60);
  CHECK(set.rfind("relay_session=id;", 0) == 0);
  for (const char* attribute : {"HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=60"}) {
    CHECK(set.find(attribute) != std::string::npos);
  }
}

TEST_CASE("a signed-in caller acts only in their own name") {
  CHECK_FALSE(check_claimed_user("bob", true, ""));  // open mode: any name
  CHECK_FALSE(check_claimed_user("", false, "alice"));
  CHECK_FALSE(check_claimed_user("alice", true, "alice"));
  auto refused = check_claimed_user("bob", true, "alice");
  REQUIRE(refused);
  CHECK(refused->status == 403);
  auto message = parse_message_request(R"({"content":"x"})", 100, "alice");
  REQUIRE(std::holds_alternative<MessageDraft>(message));
  CHECK(std::get<MessageDraft>(message).user == "alice");
  auto receipt = parse_receipt_request(R"({"status":"read"})", "alice");
  REQUIRE(std::holds_alternative<ReceiptDraft>(receipt));
  CHECK(std::get<ReceiptDraft>(receipt).user == "alice");
  auto typing = parse_typing_request(R"({"user":"bob"})", "alice");
  REQUIRE(std::holds_alternative<ApiError>(typing));
  CHECK(std::get<ApiError>(typing).status == 403);
  auto open_receipt = parse_receipt_request(R"({"status":"read"})");
  CHECK(std::holds_alternative<ApiError>(open_receipt));  // open mode: user is required
}

TEST_CASE("a request authenticator takes a bearer token or the access cookie, and refuses CSRF") {
  RequestAuthenticator::Options options;
  options.key = kKey;
  options.allowed_origins = {"https://chat.example"};
  options.now_s = [] { return kNow; };
  options.session_ended = [](const std::string& id) { return id == "ended"; };
  RequestAuthenticator auth(options);
  std::string token = *sign_access_token(kKey, claims_for("alice"));
  auto request = [](std::string method, HeaderList headers) {
    HttpRequest head;
    head.method = std::move(method);
    head.headers = {{"host", "relay.example:8080"}};
    for (auto& [name, value] : headers) head.headers.emplace_back(name, value);
    return head;
  };
  HttpRequest by_bearer =
      request("POST", {{"authorization", "Bearer " + token}, {"origin", "https://evil.example"}});
  CHECK_FALSE(auth.admit(by_bearer));
  CHECK(by_bearer.caller == "alice");
  HttpRequest by_cookie = request("GET", {{"cookie", "relay_access=" + token}});
  CHECK_FALSE(auth.admit(by_cookie));
  CHECK(by_cookie.caller == "alice");
  for (const char* origin : {"http://relay.example:8080", "https://chat.example"}) {
    HttpRequest allowed =
        request("POST", {{"cookie", "relay_access=" + token}, {"origin", origin}});
    CHECK_FALSE(auth.admit(allowed));
  }
  HttpRequest forged =
      request("POST", {{"cookie", "relay_access=" + token}, {"origin", "https://evil.example"}});
  auto refused = auth.admit(forged);
  REQUIRE(refused);
  CHECK(refused->status == 403);
  CHECK(forged.caller.empty());
  std::string ended_token =
      *sign_access_token(kKey, AccessClaims{"alice", "ended", kNow, kNow + 900, {}});
  HttpRequest ended = request("GET", {{"authorization", "Bearer " + ended_token}});
  REQUIRE(auth.admit(ended));
  CHECK(auth.admit(ended)->status == 401);
  std::string service_token = *sign_access_token(
      kKey, AccessClaims{"", kNotifyServiceName, kNow, kNow + 60, kNotifyServiceName});
  HttpRequest service = request("GET", {{"authorization", "Bearer " + service_token}});
  CHECK(auth.admit(service)->status == 403);  // only where a route allows services
  CHECK_FALSE(auth.admit(service, /*allow_service=*/true));
  CHECK(service.caller_service == kNotifyServiceName);
  CHECK(service.caller.empty());
}

// Stream tickets (shared/auth/stream_ticket) and notify-service's memory of used ones.

std::string signed_ticket(const StreamTicket& ticket, const std::string& key = kKey) {
  auto token = sign_stream_ticket(key, ticket);
  REQUIRE(token);
  return *token;
}

StreamTicket ticket_for(std::string user, int64_t issued_at_s = kNow,
                        int64_t expires_at_s = kNow + kStreamTicketTtlS) {
  return StreamTicket{std::move(user), std::string(32, 'a'), issued_at_s, expires_at_s};
}

TEST_CASE("a stream ticket is issued for 30 s with a random id and verifies under the key") {
  auto first = new_stream_ticket("alice", kNow);
  auto second = new_stream_ticket("alice", kNow);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->id.size() == 32);
  CHECK(first->id != second->id);
  CHECK(first->expires_at_s - first->issued_at_s == kStreamTicketTtlS);
  CHECK(kStreamTicketTtlS <= kMaxStreamTicketLifetimeS);
  CHECK(kMaxStreamTicketLifetimeS <= 60);
  auto verified = verify_stream_ticket(kKey, signed_ticket(*first), kNow);
  REQUIRE(verified);
  CHECK(verified->user == "alice");
  CHECK(verified->id == first->id);
  CHECK(verified->expires_at_s == kNow + kStreamTicketTtlS);
  CHECK(verify_stream_ticket(kKey, signed_ticket(*first), kNow + kStreamTicketTtlS - 1));
}

TEST_CASE(
    "a stream ticket is refused expired, long-lived, forged, altered, unsigned or malformed") {
  std::string good = signed_ticket(ticket_for("alice"));
  SUBCASE("expired: exp is now or earlier") {
    CHECK_FALSE(verify_stream_ticket(kKey, good, kNow + kStreamTicketTtlS));
    CHECK_FALSE(verify_stream_ticket(kKey, good, kNow + 3600));
  }
  SUBCASE("living longer than 60 s, even when signed with the key") {
    CHECK_FALSE(
        verify_stream_ticket(kKey, signed_ticket(ticket_for("alice", kNow, kNow + 61)), kNow));
    CHECK(verify_stream_ticket(kKey, signed_ticket(ticket_for("alice", kNow, kNow + 60)), kNow));
    // Issued "in the future" so that exp - iat looks short, but exp is more than 60 s away.
    CHECK_FALSE(verify_stream_ticket(
        kKey, signed_ticket(ticket_for("alice", kNow + 3000, kNow + 3030)), kNow));
    CHECK_FALSE(verify_stream_ticket(
        kKey, signed_ticket(ticket_for("alice", INT64_MIN / 2, INT64_MAX / 2)), kNow));
  }
  SUBCASE("another key") {
    CHECK_FALSE(verify_stream_ticket(std::string(32, 'x'), good, kNow));
    CHECK_FALSE(verify_stream_ticket("", good, kNow));
  }
  SUBCASE("the payload of another ticket under this one's signature") {
    auto alice = split_dots(good);
    auto mallory = split_dots(signed_ticket(ticket_for("mallory")));
    CHECK_FALSE(verify_stream_ticket(kKey, alice[0] + "." + mallory[1] + "." + alice[2], kNow));
  }
  SUBCASE("alg none, with and without a signature part") {
    std::string header = base64url("{\"alg\":\"none\",\"typ\":\"JWT\"}");
    std::vector<std::string> parts = {header, split_dots(good)[1]};
    CHECK_FALSE(verify_stream_ticket(kKey, parts[0] + "." + parts[1] + ".", kNow));
    CHECK_FALSE(
        verify_stream_ticket(kKey, parts[0] + "." + parts[1] + "." + split_dots(good)[2], kNow));
  }
  SUBCASE("a bad id or user name, even when signed with the key") {
    for (std::string id : {std::string(), std::string(31, 'a'), std::string(32, 'A'),
                           std::string(32, 'g'), std::string(33, 'a')}) {
      CAPTURE(id);
      StreamTicket ticket = ticket_for("alice");
      ticket.id = id;
      CHECK_FALSE(verify_stream_ticket(kKey, signed_ticket(ticket), kNow));
    }
    for (std::string user : {std::string(), std::string("a\nb"), std::string(200, 'a')}) {
      CHECK_FALSE(verify_stream_ticket(kKey, signed_ticket(ticket_for(user)), kNow));
    }
  }
  SUBCASE("garbage, truncation, oversize") {
    for (std::string bad : {std::string(), std::string(".."), good.substr(0, good.size() - 1),
                            good + "=", std::string(4096, 'a')}) {
      CAPTURE(bad);
      CHECK_FALSE(verify_stream_ticket(kKey, bad, kNow));
    }
  }
}

TEST_CASE("a stream ticket is never an access token, nor an access token a ticket") {
  std::string ticket = signed_ticket(ticket_for("alice"));
  CHECK_FALSE(verify_access_token(kKey, ticket, kNow));
  auto access = sign_access_token(kKey, AccessClaims{"alice", "session-1", kNow, kNow + 30, {}});
  REQUIRE(access);
  CHECK(verify_access_token(kKey, *access, kNow));
  CHECK_FALSE(verify_stream_ticket(kKey, *access, kNow));
  // Even an access token carrying a session and a `use` claim is not access.
  auto both = sign_hs256(kKey, {{"use", "stream"}, {"sub", "alice"}, {"sid", "session-1"}}, kNow,
                         kNow + 30);
  REQUIRE(both);
  CHECK_FALSE(verify_access_token(kKey, *both, kNow));
}

TEST_CASE("used tickets: an id passes once, is forgotten when it expires, and the set is capped") {
  UsedTickets used(2);
  CHECK(used.use("a", kNow + 30, kNow) == UsedTickets::Verdict::kFirstUse);
  CHECK(used.use("a", kNow + 30, kNow + 1) == UsedTickets::Verdict::kUsedBefore);
  CHECK(used.use("b", kNow + 10, kNow + 1) == UsedTickets::Verdict::kFirstUse);
  CHECK(used.size() == 2);
  CHECK(used.use("c", kNow + 30, kNow + 2) == UsedTickets::Verdict::kFull);
  CHECK(used.use("a", kNow + 30, kNow + 2) == UsedTickets::Verdict::kUsedBefore);  // still known
  // At b's expiry b goes, making room; a is still remembered until its own.
  CHECK(used.use("c", kNow + 30, kNow + 10) == UsedTickets::Verdict::kFirstUse);
  CHECK(used.size() == 2);
  CHECK(used.use("a", kNow + 30, kNow + 29) == UsedTickets::Verdict::kUsedBefore);
  CHECK(used.use("d", kNow + 60, kNow + 30) == UsedTickets::Verdict::kFirstUse);
  CHECK(used.size() == 1);  // a and c expired at kNow + 30
}

}  // namespace
}  // namespace relay
