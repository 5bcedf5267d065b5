#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace relay::testing {

/// An incremental decoder for an HTTP/1.1 `Transfer-Encoding: chunked` body: feed it bytes as they
/// arrive, split anywhere; it appends the decoded payload. Chunk sizes are hex digits only (no
/// sign, no `0x`, at most 2^40); chunk extensions and trailers are skipped. By default every line
/// must end in CRLF, as our services must send it; `LineEnds::kCrlfOrLf` also accepts a bare LF
/// (for reading other servers). Not thread-safe; one per response.
class ChunkedDecoder {
 public:
  enum class Status { kNeedMore, kDone, kError };
  enum class LineEnds { kCrlf, kCrlfOrLf };

  explicit ChunkedDecoder(LineEnds line_ends = LineEnds::kCrlf) : line_ends_(line_ends) {}

  /// Decodes `input`, appending payload bytes to `*body`. Returns kDone once the terminating
  /// zero-size chunk and its trailer section are complete, kError on a malformed framing (and
  /// from then on), else kNeedMore. `*used` (when given) gets how many bytes of `input` belong to
  /// the body: all of them, unless the body ended (or broke) before the end of `input`; the bytes
  /// after the end are not looked at (they may be the next response).
  Status feed(std::string_view input, std::string* body, size_t* used = nullptr);

  Status status() const { return status_; }

 private:
  enum class State { kSize, kExtension, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLf };

  Status fail();
  void end_size_line();
  /// A line ends with LF here; false (and kError) when a bare LF is not allowed.
  bool bare_lf_allowed();

  LineEnds line_ends_;
  State state_ = State::kSize;
  Status status_ = Status::kNeedMore;
  uint64_t chunk_size_ = 0;
  bool size_has_digit_ = false;
  bool trailer_line_empty_ = true;
};

}  // namespace relay::testing
