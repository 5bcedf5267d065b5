#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <vector>

namespace relay {

/// Reads settings from environment variables once, at startup. Every getter returns the default
/// when the variable is unset or empty, and records an error (returning the default) when it is set
/// to something invalid, so a service can report the first bad setting and exit with code 2.
class EnvReader {
 public:
  /// An integer in [min, max].
  int64_t integer(const char* name, int64_t fallback, int64_t min, int64_t max);
  /// Any string.
  std::string text(const char* name, const std::string& fallback);
  /// A comma-separated list, each item with its surrounding spaces removed (an empty item between
  /// two commas is kept, for the caller to refuse); unset or empty: no items.
  std::vector<std::string> list(const char* name);
  /// An http:// or https:// base URL (scheme, host, optional port; a trailing slash is dropped).
  std::string service_url(const char* name, const std::string& fallback);

  /// One of `allowed` (compared exactly).
  std::string choice(const char* name, const std::string& fallback,
                     std::initializer_list<const char*> allowed);
  /// A switch: 1/true/yes or 0/false/no.
  bool flag(const char* name, bool fallback);
  /// Records a reason to refuse the configuration as a whole (a combination of valid settings that
  /// cannot work together), reported like a bad value.
  void refuse(std::string reason) { errors_.push_back(std::move(reason)); }

  const std::vector<std::string>& errors() const { return errors_; }

  /// If any setting was invalid: prints the first error as one line on stderr and exits with 2.
  void exit_if_invalid(const char* service) const;

 private:
  std::vector<std::string> errors_;
};

}  // namespace relay
