#include "shared/exposure.h"

#include <fmt/format.h>

namespace relay {

const char* auth_mode_name(const Exposure& exposure) {
  return exposure.accounts() ? "accounts" : "open";
}

bool is_loopback_bind_address(const std::string& address) {
  return address == "localhost" || address == "::1" || address.rfind("127.", 0) == 0;
}

Exposure read_exposure(EnvReader& env) {
  Exposure exposure;
  exposure.auth_mode = env.choice("AUTH_MODE", "open", {"open", "accounts"}) == "accounts"
                           ? Exposure::AuthMode::kAccounts
                           : Exposure::AuthMode::kOpen;
  exposure.bind_address = env.text("BIND_ADDRESS", exposure.bind_address);
  exposure.allow_open_network = env.flag("ALLOW_OPEN_NETWORK", false);
  if (!exposure.accounts() && !is_loopback_bind_address(exposure.bind_address) &&
      !exposure.allow_open_network) {
    env.refuse(fmt::format(
        "BIND_ADDRESS={} is reachable from other hosts, and in AUTH_MODE=open anyone there can "
        "post and read as any user; bind 127.0.0.1, set AUTH_MODE=accounts, or set "
        "ALLOW_OPEN_NETWORK=1 if you mean it",
        exposure.bind_address));
  }
  return exposure;
}

}  // namespace relay
