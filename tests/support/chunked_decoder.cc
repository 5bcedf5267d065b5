#include "tests/support/chunked_decoder.h"

#include <algorithm>

namespace relay::testing {

namespace {

constexpr uint64_t kMaxChunkSize = uint64_t{1} << 40;

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

ChunkedDecoder::Status ChunkedDecoder::fail() {
  status_ = Status::kError;
  return status_;
}

bool ChunkedDecoder::bare_lf_allowed() {
  if (line_ends_ == LineEnds::kCrlfOrLf) return true;
  fail();
  return false;
}

void ChunkedDecoder::end_size_line() {
  if (!size_has_digit_) {
    fail();
    return;
  }
  if (chunk_size_ == 0) {
    state_ = State::kTrailer;
    trailer_line_empty_ = true;
  } else {
    state_ = State::kData;
  }
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view input, std::string* body,
                                            size_t* used) {
  size_t pos = 0;
  while (pos < input.size() && status_ == Status::kNeedMore) {
    char c = input[pos];
    switch (state_) {
      case State::kSize: {
        int digit = hex_value(c);
        if (digit >= 0) {
          chunk_size_ = chunk_size_ * 16 + static_cast<uint64_t>(digit);
          size_has_digit_ = true;
          if (chunk_size_ > kMaxChunkSize) fail();
        } else if (c == ';' || c == ' ' || c == '\t') {
          state_ = State::kExtension;
        } else if (c == '\r') {
          state_ = State::kSizeLf;
        } else if (c == '\n') {
          if (bare_lf_allowed()) end_size_line();
        } else {
          fail();
        }
        ++pos;
        break;
      }
      case State::kExtension:
        if (c == '\r') state_ = State::kSizeLf;
        if (c == '\n' && bare_lf_allowed()) end_size_line();
        ++pos;
        break;
      case State::kSizeLf:
        if (c != '\n') {
          fail();
        } else {
          end_size_line();
        }
        ++pos;
        break;
      case State::kData: {
        size_t take = static_cast<size_t>(
            std::min<uint64_t>(chunk_size_, static_cast<uint64_t>(input.size() - pos)));
        body->append(input.data() + pos, take);
        pos += take;
        chunk_size_ -= take;
        if (chunk_size_ == 0) state_ = State::kDataCr;
        break;
      }
      case State::kDataCr:
      case State::kDataLf:
        if (c == '\r' && state_ == State::kDataCr) {
          state_ = State::kDataLf;
        } else if (c == '\n' && (state_ == State::kDataLf || bare_lf_allowed())) {
          state_ = State::kSize;
          chunk_size_ = 0;
          size_has_digit_ = false;
        } else {
          fail();
        }
        ++pos;
        break;
      case State::kTrailer:
        if (c == '\r') {
          state_ = State::kTrailerLf;
        } else if (c == '\n') {
          if (bare_lf_allowed()) {
            if (trailer_line_empty_) status_ = Status::kDone;
            trailer_line_empty_ = true;
          }
        } else {
          trailer_line_empty_ = false;
        }
        ++pos;
        break;
      case State::kTrailerLf:
        if (c != '\n') {
          fail();
        } else {
          if (trailer_line_empty_) status_ = Status::kDone;
          trailer_line_empty_ = true;
          state_ = State::kTrailer;
        }
        ++pos;
        break;
    }
  }
  if (used != nullptr) *used = pos;
  return status_;
}

}  // namespace relay::testing
