#include "shared/config_env.h"

#include <cstdio>
#include <cstdlib>
#include <regex>

#include <fmt/format.h>

#include "shared/validation.h"

namespace relay {

namespace {
const char* env_value(const char* name) {
  const char* value = std::getenv(name);
  return (value != nullptr && *value != '\0') ? value : nullptr;
}
}  // namespace

int64_t EnvReader::integer(const char* name, int64_t fallback, int64_t min, int64_t max) {
  const char* value = env_value(name);
  if (value == nullptr) return fallback;
  auto parsed = parse_non_negative(value);
  if (!parsed || *parsed < min || *parsed > max) {
    errors_.push_back(fmt::format("{}={:?} is invalid: expected a whole number from {} to {}", name,
                                  std::string(value), min, max));
    return fallback;
  }
  return *parsed;
}

std::string EnvReader::text(const char* name, const std::string& fallback) {
  const char* value = env_value(name);
  return value == nullptr ? fallback : std::string(value);
}

std::vector<std::string> EnvReader::list(const char* name) {
  std::string value = text(name, "");
  std::vector<std::string> items;
  size_t start = 0;
  while (start < value.size()) {
    size_t comma = value.find(',', start);
    if (comma == std::string::npos) comma = value.size();
    std::string item = value.substr(start, comma - start);
    while (!item.empty() && item.front() == ' ') item.erase(0, 1);
    while (!item.empty() && item.back() == ' ') item.pop_back();
    items.push_back(std::move(item));
    start = comma + 1;
  }
  return items;
}

std::string EnvReader::service_url(const char* name, const std::string& fallback) {
  const char* value = env_value(name);
  if (value == nullptr) return fallback;
  static const std::regex kUrl(
      R"(^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?/?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?/?$)");
  std::string url(value);
  if (!std::regex_match(url, kUrl)) {
    errors_.push_back(fmt::format(
        "{}={:?} is invalid: expected a base URL like http://127.0.0.1:8081 (no path)", name, url));
    return fallback;
  }
  if (url.back() == '/') url.pop_back();
  return url;
}

std::string EnvReader::choice(const char* name, const std::string& fallback,
                              std::initializer_list<const char*> allowed) {
  const char* value = env_value(name);
  if (value == nullptr) return fallback;
  std::string names;
  for (const char* option : allowed) {
    if (option == std::string_view(value)) return value;
    names += names.empty() ? "" : ", ";
    names += option;
  }
  errors_.push_back(
      fmt::format("{}={:?} is invalid: expected one of {}", name, std::string(value), names));
  return fallback;
}

bool EnvReader::flag(const char* name, bool fallback) {
  const char* value = env_value(name);
  if (value == nullptr) return fallback;
  std::string_view text(value);
  if (text == "1" || text == "true" || text == "yes") return true;
  if (text == "0" || text == "false" || text == "no") return false;
  errors_.push_back(fmt::format("{}={:?} is invalid: expected 1 or 0 (true/false, yes/no)", name,
                                std::string(value)));
  return fallback;
}

void EnvReader::exit_if_invalid(const char* service) const {
  if (errors_.empty()) return;
  std::fprintf(stderr, "%s: configuration error: %s\n", service, errors_.front().c_str());
  std::exit(2);
}

}  // namespace relay
