#include "tests/integration/accounts_support.h"

#include <doctest/doctest.h>

namespace relay::itest {

const std::string kAuthSecret = "accounts-test-secret-of-at-least-32-bytes!";
const std::string kPassword = "correct horse battery";

RelayOptions accounts_options(Environment extra_message, Environment extra_notify) {
  RelayOptions options;
  options.message_env = {{"AUTH_MODE", "accounts"}, {"AUTH_SECRET", kAuthSecret}};
  for (auto& [name, value] : extra_message) options.message_env[name] = value;
  options.notify_env = {{"AUTH_MODE", "accounts"}, {"AUTH_SECRET", kAuthSecret}};
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

Account register_account(const HttpClient& http, const std::string& name,
                         const std::string& password) {
  auto response = http.post_json("/auth/register", {{"username", name}, {"password", password}});
  REQUIRE_MESSAGE(response.status == 201, response.describe());
  return signed_in_from(response);
}

httplib::Headers bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

}  // namespace relay::itest
