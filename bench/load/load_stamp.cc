#include "bench/load/load_stamp.h"

#include <time.h>

#include <fmt/format.h>

namespace relay::load {

namespace {

// Reads decimal digits at `*pos` (at least one, at most 19) into `*value`.
bool read_digits(std::string_view text, size_t* pos, uint64_t* value) {
  size_t start = *pos;
  uint64_t result = 0;
  while (*pos < text.size() && text[*pos] >= '0' && text[*pos] <= '9') {
    if (*pos - start >= 19) return false;
    result = result * 10 + static_cast<uint64_t>(text[*pos] - '0');
    ++*pos;
  }
  *value = result;
  return *pos > start;
}

bool is_json_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

// Reads "s=<seq> t=<ns>" at `*pos`, leaving `*pos` just after it.
bool read_stamp(std::string_view text, size_t* pos, LoadStamp* stamp) {
  constexpr std::string_view kSeq = "s=";
  constexpr std::string_view kTime = " t=";
  if (text.substr(*pos, kSeq.size()) != kSeq) return false;
  *pos += kSeq.size();
  uint64_t sent = 0;
  if (!read_digits(text, pos, &stamp->seq)) return false;
  if (text.substr(*pos, kTime.size()) != kTime) return false;
  *pos += kTime.size();
  if (!read_digits(text, pos, &sent) || sent > static_cast<uint64_t>(INT64_MAX)) return false;
  stamp->sent_ns = static_cast<int64_t>(sent);
  return true;
}

}  // namespace

std::string format_load_content(const LoadStamp& stamp) {
  return fmt::format("s={} t={}", stamp.seq, stamp.sent_ns);
}

std::optional<LoadStamp> parse_load_stamp(std::string_view data_json) {
  constexpr std::string_view kKey = "\"content\"";
  size_t search_from = 0;
  while (true) {
    size_t key = data_json.find(kKey, search_from);
    if (key == std::string_view::npos) return std::nullopt;
    search_from = key + 1;
    // A key starts after `{`, `,` or whitespace; anything else means this was inside a key.
    size_t before = key;
    while (before > 0 && is_json_space(data_json[before - 1])) --before;
    if (before == 0 || (data_json[before - 1] != '{' && data_json[before - 1] != ',')) continue;
    size_t pos = key + kKey.size();
    while (pos < data_json.size() && is_json_space(data_json[pos])) ++pos;
    if (pos >= data_json.size() || data_json[pos] != ':') continue;
    ++pos;
    while (pos < data_json.size() && is_json_space(data_json[pos])) ++pos;
    if (pos >= data_json.size() || data_json[pos] != '"') return std::nullopt;
    ++pos;
    LoadStamp stamp;
    if (!read_stamp(data_json, &pos, &stamp)) return std::nullopt;
    if (pos >= data_json.size() || data_json[pos] != '"') return std::nullopt;
    return stamp;
  }
}

std::optional<LoadStamp> parse_load_content(std::string_view content) {
  size_t pos = 0;
  LoadStamp stamp;
  if (!read_stamp(content, &pos, &stamp) || pos != content.size()) return std::nullopt;
  return stamp;
}

int64_t monotonic_ns() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return static_cast<int64_t>(now.tv_sec) * 1'000'000'000 + now.tv_nsec;
}

}  // namespace relay::load
