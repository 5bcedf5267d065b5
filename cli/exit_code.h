#pragma once

namespace relay::cli {

/// The process exit codes of `relay`, documented in `relay --help`. Scripts may rely on them.
enum class ExitCode : int {
  kOk = 0,
  /// A service refused the input (a 4xx answer); its error code and detail went to stderr.
  kRefused = 1,
  /// The command line was wrong; the usage hint went to stderr.
  kUsage = 2,
  /// A service could not be reached or failed (5xx); stderr names the URL.
  kUnavailable = 3,
};

inline int to_int(ExitCode code) {
  return static_cast<int>(code);
}

}  // namespace relay::cli
