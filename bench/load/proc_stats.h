#pragma once

#include <cstdint>
#include <optional>

namespace relay::load {

/// VmRSS of a process in KB, from /proc/<pid>/status; nullopt when it cannot be read.
std::optional<int64_t> read_rss_kb(int64_t pid);

/// User + system CPU time a process has used, in µs, from /proc/<pid>/stat; nullopt when it
/// cannot be read.
std::optional<int64_t> read_cpu_us(int64_t pid);

}  // namespace relay::load
