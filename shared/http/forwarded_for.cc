#include "shared/http/forwarded_for.h"

#include <arpa/inet.h>

#include <algorithm>

namespace relay {

bool is_ip_address(std::string_view text) {
  if (text.empty() || text.size() > 45) return false;
  std::string copy(text);
  unsigned char buffer[16];
  return inet_pton(AF_INET, copy.c_str(), buffer) == 1 ||
         inet_pton(AF_INET6, copy.c_str(), buffer) == 1;
}

std::string client_address(const std::string& peer, const std::vector<std::string>& trusted_proxies,
                           const HttpRequest& request) {
  if (std::find(trusted_proxies.begin(), trusted_proxies.end(), peer) == trusted_proxies.end() ||
      !request.has_header("X-Forwarded-For")) {
    return peer;
  }
  std::string value = request.header("X-Forwarded-For");
  size_t comma = value.rfind(',');
  std::string_view last = comma == std::string::npos ? std::string_view(value)
                                                     : std::string_view(value).substr(comma + 1);
  while (!last.empty() && (last.front() == ' ' || last.front() == '\t')) last.remove_prefix(1);
  while (!last.empty() && (last.back() == ' ' || last.back() == '\t')) last.remove_suffix(1);
  return is_ip_address(last) ? std::string(last) : peer;
}

}  // namespace relay
