// libFuzzer target: shared/sse.h's SseParser and sse_event framing.
// Invariants: the events, last id, retry and comment count do not depend on how the bytes are cut
// (all at once, one byte at a time, or random-sized pieces); a parsed event framed again with
// sse_event parses back to itself; any data framed with sse_event comes back whole (line ends as
// LF) as exactly one event.

#include <string>
#include <string_view>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "shared/sse.h"

namespace {

struct ParseResult {
  std::vector<relay::SseEvent> events;
  std::string last_event_id;
  int retry_ms = -1;
  size_t comments = 0;
};

bool same_event(const relay::SseEvent& a, const relay::SseEvent& b) {
  return a.id == b.id && a.has_id == b.has_id && a.event == b.event && a.data == b.data;
}

bool same_result(const ParseResult& a, const ParseResult& b) {
  if (a.events.size() != b.events.size()) return false;
  for (size_t i = 0; i < a.events.size(); ++i) {
    if (!same_event(a.events[i], b.events[i])) return false;
  }
  return a.last_event_id == b.last_event_id && a.retry_ms == b.retry_ms && a.comments == b.comments;
}

// Feeds `input` in pieces whose sizes `next_piece(remaining)` chooses (each at least 1).
template <typename NextPiece>
ParseResult parse_in_pieces(std::string_view input, NextPiece next_piece) {
  ParseResult result;
  relay::SseParser parser(
      [&result](const relay::SseEvent& event) { result.events.push_back(event); });
  while (!input.empty()) {
    size_t piece = next_piece(input.size());
    parser.feed(input.substr(0, piece));
    input.remove_prefix(piece);
  }
  result.last_event_id = parser.last_event_id();
  result.retry_ms = parser.retry_ms();
  result.comments = parser.comment_count();
  return result;
}

ParseResult parse_whole(std::string_view input) {
  return parse_in_pieces(input, [](size_t remaining) { return remaining; });
}

std::string with_lf_line_ends(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r') {
      out.push_back(text[i]);
      continue;
    }
    out.push_back('\n');
    if (i + 1 < text.size() && text[i + 1] == '\n') ++i;
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);

  ParseResult whole = parse_whole(input);
  for (const auto& event : whole.events) {
    FUZZ_CHECK(event.data.find('\r') == std::string::npos);
    FUZZ_CHECK(event.event.find_first_of("\r\n") == std::string::npos);
    FUZZ_CHECK(event.id.find_first_of(std::string_view("\r\n\0", 3)) == std::string::npos);
    FUZZ_CHECK(!event.event.empty());
    FUZZ_CHECK(event.has_id || event.id.empty());
  }

  ParseResult bytewise = parse_in_pieces(input, [](size_t) { return size_t{1}; });
  FUZZ_CHECK(same_result(whole, bytewise));

  relay::fuzz::InputRandom random(input);
  ParseResult pieces = parse_in_pieces(input, [&random](size_t remaining) {
    // Mostly small pieces (where a CR ends one piece and its LF starts the next), sometimes big.
    size_t bound = random.below(4) == 0 ? remaining : 8;
    return static_cast<size_t>(1 + random.below(bound < remaining ? bound : remaining));
  });
  FUZZ_CHECK(same_result(whole, pieces));

  // What the server writes, a reader reads back: each parsed event framed again.
  for (const auto& event : whole.events) {
    ParseResult again = parse_whole(relay::sse_event(event.id, event.event, event.data));
    FUZZ_CHECK(again.events.size() == 1);
    const auto& back = again.events[0];
    FUZZ_CHECK(back.event == event.event && back.data == event.data);
    FUZZ_CHECK(back.id == event.id && back.has_id == !event.id.empty());
  }

  // Any data, framed: one event whose data is the input with its line ends as LF.
  ParseResult framed = parse_whole(relay::sse_event("7", "message", input));
  FUZZ_CHECK(framed.events.size() == 1);
  FUZZ_CHECK(framed.events[0].data == with_lf_line_ends(input));
  FUZZ_CHECK(framed.events[0].id == "7" && framed.last_event_id == "7");
  return 0;
}
