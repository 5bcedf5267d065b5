#pragma once

#include <string>

#include "cli/exit_code.h"
#include "cli/service_client.h"

namespace relay::cli {

/// Prints one line on stderr saying why `request` (e.g. "POST /messages") to `client` failed, and
/// returns the exit code for it: a 4xx is kRefused and shows the service's JSON `error` code and
/// `detail`; no answer or a 5xx (or anything else unexpected) is kUnavailable and names the URL.
ExitCode report_failure(const ServiceClient& client, const std::string& request,
                        const CallResult& result);

/// Prints "relay: `text`" on stderr.
void print_notice(const std::string& text);

}  // namespace relay::cli
