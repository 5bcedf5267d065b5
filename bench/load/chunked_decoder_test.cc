#include "bench/load/chunked_decoder.h"

#include <doctest/doctest.h>

namespace relay::load {
namespace {

using Status = ChunkedDecoder::Status;

TEST_CASE("ChunkedDecoder: hex sizes, extensions, trailers and the final chunk") {
  const std::string wire =
      "5\r\nhello\r\n"
      "1A;name=value\r\nabcdefghijklmnopqrstuvwxyz\r\n"
      "a \r\n0123456789\r\n"
      "0\r\nX-Trailer: yes\r\n\r\n"
      "ignored";
  const std::string expected = "helloabcdefghijklmnopqrstuvwxyz0123456789";

  SUBCASE("in one piece") {
    ChunkedDecoder decoder;
    std::string body;
    CHECK(decoder.feed(wire, &body) == Status::kDone);
    CHECK(body == expected);
  }
  SUBCASE("split at every byte boundary") {
    for (size_t split = 0; split <= wire.size(); ++split) {
      ChunkedDecoder decoder;
      std::string body;
      Status first = decoder.feed(std::string_view(wire).substr(0, split), &body);
      Status second = decoder.feed(std::string_view(wire).substr(split), &body);
      INFO("split at " << split);
      CHECK(first == (split >= wire.size() - 7 ? Status::kDone : Status::kNeedMore));
      CHECK(second == Status::kDone);
      CHECK(body == expected);
    }
  }
  SUBCASE("one byte at a time") {
    ChunkedDecoder decoder;
    std::string body;
    Status status = Status::kNeedMore;
    for (char c : wire) status = decoder.feed(std::string_view(&c, 1), &body);
    CHECK(status == Status::kDone);
    CHECK(body == expected);
  }
}

TEST_CASE("ChunkedDecoder: a stream still open needs more; the 0 chunk without trailers ends it") {
  ChunkedDecoder decoder;
  std::string body;
  CHECK(decoder.feed("3\r\nabc\r\n", &body) == Status::kNeedMore);
  CHECK(decoder.feed("0\r\n", &body) == Status::kNeedMore);
  CHECK(decoder.feed("\r\n", &body) == Status::kDone);
  CHECK(body == "abc");
}

TEST_CASE("ChunkedDecoder: bare LF line ends are accepted") {
  ChunkedDecoder decoder;
  std::string body;
  CHECK(decoder.feed("2\nhi\n0\n\n", &body) == Status::kDone);
  CHECK(body == "hi");
}

TEST_CASE("ChunkedDecoder: malformed framing is an error that sticks") {
  std::string body;
  SUBCASE("not hex") {
    ChunkedDecoder decoder;
    CHECK(decoder.feed("zz\r\n", &body) == Status::kError);
    CHECK(decoder.feed("1\r\na\r\n", &body) == Status::kError);
  }
  SUBCASE("no size digits") {
    ChunkedDecoder decoder;
    CHECK(decoder.feed("\r\n", &body) == Status::kError);
  }
  SUBCASE("data longer than its size") {
    ChunkedDecoder decoder;
    CHECK(decoder.feed("2\r\nabc\r\n", &body) == Status::kError);
  }
  SUBCASE("absurd size") {
    ChunkedDecoder decoder;
    CHECK(decoder.feed("FFFFFFFFFFFFFFFFFF\r\n", &body) == Status::kError);
  }
}

}  // namespace
}  // namespace relay::load
