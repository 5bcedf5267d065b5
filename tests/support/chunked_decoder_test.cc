#include "tests/support/chunked_decoder.h"

#include <doctest/doctest.h>

namespace relay::testing {
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

TEST_CASE("ChunkedDecoder: a stream still open needs more, the 0 chunk without trailers ends it") {
  ChunkedDecoder decoder;
  std::string body;
  CHECK(decoder.feed("3\r\nabc\r\n", &body) == Status::kNeedMore);
  CHECK(decoder.feed("0\r\n", &body) == Status::kNeedMore);
  CHECK(decoder.feed("\r\n", &body) == Status::kDone);
  CHECK(body == "abc");
}

TEST_CASE("ChunkedDecoder: bare LF line ends are accepted when asked for, refused by default") {
  std::string body;
  ChunkedDecoder lenient(ChunkedDecoder::LineEnds::kCrlfOrLf);
  CHECK(lenient.feed("2\nhi\n0\n\n", &body) == Status::kDone);
  CHECK(body == "hi");
  for (const char* wire : {"2\nhi\r\n0\r\n\r\n", "2\r\nhi\n0\r\n\r\n", "2\r\nhi\r\n0\n\r\n",
                           "2\r\nhi\r\n0\r\n\n", "2;x\nhi\r\n0\r\n\r\n"}) {
    ChunkedDecoder strict;
    std::string ignored;
    CHECK_MESSAGE(strict.feed(wire, &ignored) == Status::kError, wire);
  }
}

TEST_CASE("ChunkedDecoder: says where the body ended, so what follows can be read as the next") {
  const std::string wire = "3\r\nabc\r\n0\r\n\r\nHTTP/1.1 200 OK\r\n";
  ChunkedDecoder decoder;
  std::string body;
  size_t used = 0;
  CHECK(decoder.feed(wire, &body, &used) == Status::kDone);
  CHECK(body == "abc");
  CHECK(wire.substr(used) == "HTTP/1.1 200 OK\r\n");
  CHECK(decoder.feed("3\r\n", &body, &used) == Status::kDone);
  CHECK(used == 0);
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
  SUBCASE("a sign, a 0x prefix, or a space before the size") {
    for (const char* wire : {"-1\r\n", "+1\r\n", "0x30\r\n", " 1\r\n"}) {
      ChunkedDecoder decoder;
      CHECK_MESSAGE(decoder.feed(wire, &body) == Status::kError, wire);
    }
  }
  SUBCASE("absurd size") {
    ChunkedDecoder decoder;
    CHECK(decoder.feed("FFFFFFFFFFFFFFFFFF\r\n", &body) == Status::kError);
  }
}

}  // namespace
}  // namespace relay::testing
