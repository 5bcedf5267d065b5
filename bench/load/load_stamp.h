#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace relay::load {

/// What a load message carries in its `content`: its sequence number (0-based) and the
/// CLOCK_MONOTONIC time in ns at which its publish started.
struct LoadStamp {
  uint64_t seq = 0;
  int64_t sent_ns = 0;
};

/// The content of a load message: "s=<seq> t=<ns>".
std::string format_load_content(const LoadStamp& stamp);

/// Finds the "content" member of an SSE event's data (a JSON object) without a full JSON parse and
/// reads a LoadStamp from it. Sound for any valid JSON object: an unescaped `"content"` followed by
/// `:` can only be a key, because quotes inside strings are escaped. Returns nullopt when there is
/// no such member or its value is not exactly a load content.
std::optional<LoadStamp> parse_load_stamp(std::string_view data_json);

/// Reads a LoadStamp from a bare content, as nchan delivers it (an event's data is the published
/// body itself). Returns nullopt unless `content` is exactly "s=<seq> t=<ns>".
std::optional<LoadStamp> parse_load_content(std::string_view content);

/// CLOCK_MONOTONIC now, in ns.
int64_t monotonic_ns();

}  // namespace relay::load
