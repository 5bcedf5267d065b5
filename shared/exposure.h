#pragma once

#include <optional>
#include <string>

#include "shared/config_env.h"

namespace relay {

/// Who a service lets in, decided once at startup: how identity is established (AUTH_MODE) and
/// where the service listens (BIND_ADDRESS, defaulting to loopback). In `open` mode a user is
/// whatever a client types, so such a service stays on loopback unless the operator says, with
/// ALLOW_OPEN_NETWORK=1, that they mean to expose it. In `accounts` mode identity comes from a
/// signed access token only, so any address may be bound.
struct Exposure {
  enum class AuthMode { kOpen, kAccounts };
  AuthMode auth_mode = AuthMode::kOpen;
  std::string bind_address = "127.0.0.1";
  bool allow_open_network = false;

  bool accounts() const { return auth_mode == AuthMode::kAccounts; }
};

/// "open" or "accounts", as AUTH_MODE spells it (for /config.json and logs).
const char* auth_mode_name(const Exposure& exposure);

/// True for an address that only this host can reach: 127.0.0.0/8, ::1, `localhost`.
bool is_loopback_bind_address(const std::string& address);

/// Reads AUTH_MODE, BIND_ADDRESS and ALLOW_OPEN_NETWORK into an Exposure. A bad value, or an open
/// service on a non-loopback address without ALLOW_OPEN_NETWORK=1, is recorded in `env` as the
/// one line the service prints before it exits with code 2.
Exposure read_exposure(EnvReader& env);

}  // namespace relay
