#include "tests/integration/accounts_support.h"

#include <doctest/doctest.h>

#include "shared/auth/access_token.h"

namespace relay::itest {

RelayOptions accounts_options(Environment extra_message, Environment extra_notify) {
  RelayOptions options;
  options.message_env = {{"AUTH_MODE", "accounts"}, {"AUTH_SECRET", kSecret}};
  for (auto& [name, value] : extra_message) options.message_env[name] = value;
  options.notify_env = {{"AUTH_MODE", "accounts"}, {"AUTH_SECRET", kSecret}};
  for (auto& [name, value] : extra_notify) options.notify_env[name] = value;
  return options;
}

std::string set_cookie(const HttpResponse& response, const std::string& name,
                       std::string* attributes) {
  auto [begin, end] = response.headers.equal_range("Set-Cookie");
  for (auto it = begin; it != end; ++it) {
    const std::string& cookie = it->second;
    if (cookie.rfind(name + "=", 0) != 0) continue;
    size_t end_of_value = cookie.find(';');
    if (attributes != nullptr) *attributes = cookie.substr(end_of_value);
    return cookie.substr(name.size() + 1, end_of_value - name.size() - 1);
  }
  return "";
}

Account signed_in_from(const HttpResponse& response) {
  Json body = response.json();
  REQUIRE_MESSAGE(body.is_object(), response.describe());
  return {body.value("user", ""), body.value("access_token", ""),
          set_cookie(response, "relay_session")};
}

void create_private(const HttpClient& http, const Account& owner, const std::string& name,
                    const std::vector<const Account*>& members) {
  auto created =
      http.post_json("/channels", {{"name", name}, {"private", true}}, bearer(owner.token));
  REQUIRE_MESSAGE(created.status == 201, created.describe());
  for (const Account* member : members) {
    auto added = http.post_json("/channels/" + name + "/members", {{"user", member->user}},
                                bearer(owner.token));
    REQUIRE_MESSAGE(added.status == 201, added.describe());
  }
}

Account register_account(const HttpClient& http, const std::string& name,
                         const std::string& password) {
  auto response = http.post_json("/auth/register", {{"username", name}, {"password", password}});
  REQUIRE_MESSAGE(response.status == 201, response.describe());
  return signed_in_from(response);
}

httplib::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::string token_for(const std::string& key, const std::string& user, int64_t expires_at_s) {
  auto token = sign_access_token(key, AccessClaims{user, "forged-session", 0, expires_at_s, {}});
  REQUIRE(token);
  return *token;
}

int64_t now_s() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string base64url(const std::string& text) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (unsigned char c : text) {
    bits = (bits << 8) | c;
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(alphabet[(bits >> count) & 63]);
    }
  }
  if (count > 0) out.push_back(alphabet[(bits << (6 - count)) & 63]);
  return out;
}

Burst send_burst(int count, const std::function<HttpResponse()>& send) {
  Burst burst;
  auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < count; ++i) {
    HttpResponse response = send();
    if (response.status >= 200 && response.status < 300) ++burst.passed;
    if (response.status == 429) {
      ++burst.limited;
      CHECK(response.json()["error"] == "rate_limited");
      CHECK_FALSE(response.header("Retry-After").empty());
    }
  }
  burst.took_s =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started)
          .count();
  return burst;
}

}  // namespace relay::itest
