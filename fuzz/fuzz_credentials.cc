// libFuzzer target: what a client presents as a credential, in shared/auth/: cookie_value() on a
// Cookie header, verify_access_token() on a bearer token, and RequestAuthenticator::identify() on
// a request head carrying the input as Authorization, Cookie and Origin.
// Invariants: nothing crashes or leaks; a cookie value found is a part of the header without ';';
// no input is accepted as a token unless it was signed with the key (forging needs the key); a
// token signed for a valid user name verifies to that name.

#include <string>
#include <string_view>
#include <variant>

#include "fuzz/fuzz_check.h"
#include "shared/auth/access_token.h"
#include "shared/auth/request_auth.h"
#include "shared/validation.h"

namespace {

const std::string kKey = "fuzz-key-of-thirty-two-bytes-at-least!";
constexpr int64_t kNow = 1'800'000'000;

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string input(reinterpret_cast<const char*>(data), size);

  if (auto value = relay::cookie_value(input, relay::kAccessCookie)) {
    FUZZ_CHECK(value->find(';') == std::string::npos);
    FUZZ_CHECK(input.find(*value) != std::string::npos);
  }

  // Random bytes are never a token signed with our key.
  FUZZ_CHECK(!relay::verify_access_token(kKey, input, kNow).has_value());

  relay::RequestAuthenticator::Options options;
  options.key = kKey;
  options.now_s = [] { return kNow; };
  relay::RequestAuthenticator authenticator(options);
  for (const char* name : {"authorization", "cookie"}) {
    relay::HttpRequest head;
    head.method = "POST";
    head.headers = {{name, std::string(name) == "cookie" ? "relay_access=" + input : input},
                    {"origin", input},
                    {"host", "relay.example"}};
    auto identified = authenticator.identify(head);
    FUZZ_CHECK(std::holds_alternative<relay::HttpReply>(identified));
  }

  // The input as a user name: signed, it verifies to the same name; refused when not a name.
  // (libjwt takes C strings: a NUL would cut the name, so such inputs stop here.)
  if (input.find('\0') != std::string::npos) return 0;
  auto token = relay::sign_access_token(kKey, {input, "session", kNow, kNow + 60, {}});
  if (token) {
    auto claims = relay::verify_access_token(kKey, *token, kNow);
    if (relay::is_valid_user_name(input)) {
      FUZZ_CHECK(claims.has_value() && claims->user == input);
    } else {
      FUZZ_CHECK(!claims.has_value());
    }
  }
  return 0;
}
