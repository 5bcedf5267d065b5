#include "cli/failure.h"

#include <cstdio>

#include <fmt/format.h>

namespace relay::cli {

namespace {

std::string json_string(const nlohmann::json& object, const char* key) {
  if (!object.is_object() || !object.contains(key) || !object[key].is_string()) return {};
  return object[key].get<std::string>();
}

}  // namespace

void print_notice(const std::string& text) {
  std::fprintf(stderr, "relay: %s\n", text.c_str());
  std::fflush(stderr);
}

ExitCode report_failure(const ServiceClient& client, const std::string& request,
                        const CallResult& result) {
  if (!result.answered()) {
    print_notice(fmt::format("cannot reach {} ({}: {})", client.base_url(), request,
                             result.transport_error));
    return ExitCode::kUnavailable;
  }
  std::string code = json_string(result.json, "error");
  std::string detail = json_string(result.json, "detail");
  std::string said = code.empty() ? "" : ": " + code + (detail.empty() ? "" : ": " + detail);
  if (result.status >= 400 && result.status < 500) {
    print_notice(fmt::format("{} refused {} (status {}){}", client.base_url(), request,
                             result.status, said));
    return ExitCode::kRefused;
  }
  print_notice(
      fmt::format("{} failed {} (status {}){}", client.base_url(), request, result.status, said));
  return ExitCode::kUnavailable;
}

}  // namespace relay::cli
