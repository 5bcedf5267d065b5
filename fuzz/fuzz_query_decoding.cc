// libFuzzer target: shared/http/http_request.h's percent_decode and parse_query.
// Invariants: what decodes is valid UTF-8 without C0 control bytes and never longer than its
// input; '+' as a space is the same as "%20"; decoding what was percent-encoded gives it back; a
// parsed query, encoded again, parses to the same pairs.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "fuzz/fuzz_check.h"
#include "shared/http/http_request.h"

namespace {

std::string percent_encode_all(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    out.push_back('%');
    out.push_back(kHex[c >> 4]);
    out.push_back(kHex[c & 15]);
  }
  return out;
}

bool has_c0(std::string_view text) {
  for (unsigned char c : text) {
    if (c < 0x20) return true;
  }
  return false;
}

void check_decoded(std::string_view input, const std::string& out) {
  FUZZ_CHECK(relay::is_valid_utf8(out));
  FUZZ_CHECK(!has_c0(out));
  FUZZ_CHECK(out.size() <= input.size());
}

void check_percent_decode(std::string_view input) {
  std::string plain;
  bool plain_ok = relay::percent_decode(input, false, &plain);
  if (plain_ok) check_decoded(input, plain);
  // Nothing to decode: the text comes back as it is, or is refused for its own bytes.
  if (input.find('%') == std::string_view::npos) {
    bool clean = relay::is_valid_utf8(input) && !has_c0(input);
    FUZZ_CHECK(plain_ok == clean);
    if (plain_ok) FUZZ_CHECK(plain == input);
  }

  std::string spaced;
  bool spaced_ok = relay::percent_decode(input, true, &spaced);
  if (spaced_ok) {
    check_decoded(input, spaced);
  }
  std::string with_escapes;
  for (char c : input) {
    if (c == '+') {
      with_escapes += "%20";
    } else {
      with_escapes.push_back(c);
    }
  }
  std::string escaped;
  bool escaped_ok = relay::percent_decode(with_escapes, false, &escaped);
  FUZZ_CHECK(spaced_ok == escaped_ok);
  if (spaced_ok) FUZZ_CHECK(spaced == escaped);

  if (plain_ok) {
    std::string back;
    FUZZ_CHECK(relay::percent_decode(percent_encode_all(plain), false, &back));
    FUZZ_CHECK(back == plain);
  }
  // Every byte escaped: accepted exactly when the bytes themselves are clean.
  std::string raw;
  bool raw_ok = relay::percent_decode(percent_encode_all(input), false, &raw);
  FUZZ_CHECK(raw_ok == (relay::is_valid_utf8(input) && !has_c0(input)));
  if (raw_ok) FUZZ_CHECK(raw == input);
}

void check_parse_query(std::string_view input) {
  std::vector<std::pair<std::string, std::string>> pairs;
  if (!relay::parse_query(input, &pairs)) return;
  size_t parts = 1;
  for (char c : input) parts += c == '&' ? 1 : 0;
  FUZZ_CHECK(pairs.size() <= parts);
  std::string encoded;
  for (const auto& [key, value] : pairs) {
    FUZZ_CHECK(relay::is_valid_utf8(key) && !has_c0(key));
    FUZZ_CHECK(relay::is_valid_utf8(value) && !has_c0(value));
    if (!encoded.empty()) encoded.push_back('&');
    encoded += percent_encode_all(key) + "=" + percent_encode_all(value);
  }
  std::vector<std::pair<std::string, std::string>> again;
  FUZZ_CHECK(relay::parse_query(encoded, &again));
  FUZZ_CHECK(again == pairs);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_percent_decode(input);
  check_parse_query(input);
  return 0;
}
