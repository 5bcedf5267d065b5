#include "bench/load/load_stamp.h"

#include <doctest/doctest.h>

namespace relay::load {
namespace {

TEST_CASE("load content round-trips through the server's JSON") {
  std::string content = format_load_content({42, 1234567890123});
  CHECK(content == "s=42 t=1234567890123");
  std::string data = R"({"channel":"general","content":")" + content +
                     R"(","id":"7","timestamp":"2026-01-01T00:00:00.000Z","type":"message"})";
  auto stamp = parse_load_stamp(data);
  REQUIRE(stamp);
  CHECK(stamp->seq == 42);
  CHECK(stamp->sent_ns == 1234567890123);
}

TEST_CASE("parse_load_stamp tolerates whitespace and any member order") {
  auto stamp = parse_load_stamp(R"({ "user" : "load" ,
      "content" :  "s=0 t=5" })");
  REQUIRE(stamp);
  CHECK(stamp->seq == 0);
  CHECK(stamp->sent_ns == 5);
}

TEST_CASE("parse_load_stamp is not fooled by \"content\" inside strings or other keys") {
  // The word appears escaped inside a value, and as the tail of another key, before the real one.
  auto stamp = parse_load_stamp(
      R"({"user":"x\"content\":\"s=9 t=9\"","xcontent":"s=8 t=8","content":"s=3 t=4"})");
  REQUIRE(stamp);
  CHECK(stamp->seq == 3);
  CHECK(stamp->sent_ns == 4);
}

TEST_CASE("parse_load_stamp rejects contents that are not load stamps") {
  CHECK_FALSE(parse_load_stamp(R"({"content":"hello"})"));
  CHECK_FALSE(parse_load_stamp(R"({"content":"s=1 t=2 extra"})"));
  CHECK_FALSE(parse_load_stamp(R"({"content":"s= t=2"})"));
  CHECK_FALSE(parse_load_stamp(R"({"content":"s=1"})"));
  CHECK_FALSE(parse_load_stamp(R"({"content":5})"));
  CHECK_FALSE(parse_load_stamp(R"({"id":"1"})"));
  CHECK_FALSE(parse_load_stamp(R"({"content":"s=99999999999999999999 t=1"})"));
  CHECK_FALSE(parse_load_stamp(""));
}

TEST_CASE("parse_load_content reads a bare content and nothing around it") {
  auto stamp = parse_load_content(format_load_content({7, 123456789}));
  REQUIRE(stamp);
  CHECK(stamp->seq == 7);
  CHECK(stamp->sent_ns == 123456789);
  CHECK_FALSE(parse_load_content(""));
  CHECK_FALSE(parse_load_content("s=7"));
  CHECK_FALSE(parse_load_content("s=7 t=1 "));
  CHECK_FALSE(parse_load_content(" s=7 t=1"));
  CHECK_FALSE(parse_load_content("\"s=7 t=1\""));
  CHECK_FALSE(parse_load_content("s=1 t=99999999999999999999"));
}

}  // namespace
}  // namespace relay::load
