#pragma once

// What every fuzz target uses to state an invariant: a violated one prints the condition and traps,
// which libFuzzer reports as a crash and saves the input that caused it.

#include <cstdint>
#include <cstdio>
#include <string_view>

#define FUZZ_CHECK(condition)                                                             \
  do {                                                                                    \
    if (!(condition)) {                                                                   \
      std::fprintf(stderr, "fuzz invariant violated: %s (%s:%d)\n", #condition, __FILE__, \
                   __LINE__);                                                             \
      __builtin_trap();                                                                   \
    }                                                                                     \
  } while (0)

namespace relay::fuzz {

/// A small deterministic generator seeded from the input, for choices (piece sizes, split points)
/// that must be the same every time the same input is replayed.
class InputRandom {
 public:
  explicit InputRandom(std::string_view input) {
    for (unsigned char c : input) state_ = (state_ ^ c) * 0x100000001b3ULL;  // FNV-1a
    if (state_ == 0) state_ = 1;
  }
  /// A number in [0, bound); 0 when bound is 0.
  uint64_t below(uint64_t bound) {
    state_ ^= state_ << 13;  // xorshift64
    state_ ^= state_ >> 7;
    state_ ^= state_ << 17;
    return bound == 0 ? 0 : state_ % bound;
  }

 private:
  uint64_t state_ = 0xcbf29ce484222325ULL;
};

}  // namespace relay::fuzz
