#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace relay::load {

/// An incremental decoder for an HTTP/1.1 `Transfer-Encoding: chunked` body: feed it bytes as they
/// arrive, split anywhere; it appends the decoded payload. Chunk extensions and trailers are
/// skipped; a bare LF is accepted where CRLF is expected. Not thread-safe; one per connection.
class ChunkedDecoder {
 public:
  enum class Status { kNeedMore, kDone, kError };

  /// Decodes `input`, appending payload bytes to `*body`. Returns kDone once the terminating
  /// zero-size chunk and its trailer section are complete (later bytes are ignored), kError on a
  /// malformed framing (and from then on), else kNeedMore.
  Status feed(std::string_view input, std::string* body);

  Status status() const { return status_; }

 private:
  enum class State { kSize, kExtension, kSizeLf, kData, kDataCr, kDataLf, kTrailer, kTrailerLf };

  Status fail();
  void end_size_line();

  State state_ = State::kSize;
  Status status_ = Status::kNeedMore;
  uint64_t chunk_size_ = 0;
  bool size_has_digit_ = false;
  bool trailer_line_empty_ = true;
};

}  // namespace relay::load
