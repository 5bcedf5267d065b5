#include "shared/http/redaction.h"

#include <algorithm>
#include <array>

#include "shared/http/http_request.h"

namespace relay {

namespace {

constexpr std::array<std::string_view, 4> kSecretParameters = {"ticket", "token", "access_token",
                                                               "password"};

bool is_secret_name(std::string_view encoded_name) {
  std::string name;
  if (!percent_decode(encoded_name, /*plus_is_space=*/true, &name)) return true;  // unsure: hide
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  return std::find(kSecretParameters.begin(), kSecretParameters.end(), name) !=
         kSecretParameters.end();
}

}  // namespace

std::string redact_target(std::string_view target) {
  size_t question = target.find('?');
  if (question == std::string_view::npos) return std::string(target);
  std::string out(target.substr(0, question + 1));
  std::string_view query = target.substr(question + 1);
  bool first = true;
  while (true) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    if (!first) out.push_back('&');
    first = false;
    size_t equals = pair.find('=');
    std::string_view name = pair.substr(0, equals);
    if (equals != std::string_view::npos && is_secret_name(name)) {
      out.append(name).append("=").append(kRedacted);
    } else {
      out.append(pair);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return out;
}

}  // namespace relay
