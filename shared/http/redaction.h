#pragma once

#include <string>
#include <string_view>

namespace relay {

/// The value a log shows in place of a secret.
inline constexpr std::string_view kRedacted = "[redacted]";

/// A request target fit for a log: the path as sent, and each query parameter as sent except that
/// the value of a credential-bearing one (`ticket`, `token`, `access_token`, `password`, its name
/// compared after percent-decoding and in any case) reads `[redacted]`; so does the value of a
/// parameter whose name cannot be decoded. Headers are never logged, so cookies and bearer tokens
/// do not need this. Pure; any thread.
std::string redact_target(std::string_view target);

}  // namespace relay
