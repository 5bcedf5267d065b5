#include "bench/load/server_dialect.h"

#include <charconv>

#include <fmt/format.h>

namespace relay::load {

namespace {

template <typename T>
std::optional<T> parse_decimal(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
  return value;
}

}  // namespace

std::string subscribe_request(Target target, int port, std::string_view nchan_path, size_t index) {
  std::string target_path = target == Target::kNchan
                                ? std::string(nchan_path)
                                : fmt::format("/events?client_id=load-{}", index);
  return fmt::format(
      "GET {} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n"
      "Accept: text/event-stream\r\nCache-Control: no-store\r\n\r\n",
      target_path, port);
}

bool opens_on_first_bytes(Target target) {
  return target == Target::kNchan;
}

std::optional<LoadStamp> stamp_of(Target target, const SseEvent& event) {
  return target == Target::kNchan ? parse_load_content(event.data) : parse_load_stamp(event.data);
}

std::optional<uint64_t> server_order_of(Target target, const SseEvent& event) {
  if (!event.has_id) return std::nullopt;
  if (target == Target::kNchan) return parse_nchan_event_id(event.id);
  return parse_decimal<uint64_t>(event.id);
}

std::optional<uint64_t> parse_nchan_event_id(std::string_view id) {
  size_t colon = id.find(':');
  if (colon == std::string_view::npos) return std::nullopt;
  auto seconds = parse_decimal<uint32_t>(id.substr(0, colon));
  auto index = parse_decimal<uint32_t>(id.substr(colon + 1));
  if (!seconds || !index) return std::nullopt;
  return (uint64_t{*seconds} << 32) | *index;
}

}  // namespace relay::load
