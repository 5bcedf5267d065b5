// Unit tests of shared/logfmt.h: the line format and its quoting.

#include "shared/logfmt.h"

#include <regex>
#include <string>

#include <doctest/doctest.h>

namespace relay {
namespace {

constexpr size_t kTimestampPrefix = std::string_view("ts=2026-11-23T15:22:03.123Z ").size();

// The line without its leading `ts=... ` (checked separately, it changes every call).
std::string without_timestamp(const std::string& line) {
  static const std::regex kTimestamp(R"(ts=\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z )");
  REQUIRE(line.size() >= kTimestampPrefix);
  CHECK(std::regex_match(line.substr(0, kTimestampPrefix), kTimestamp));
  return line.substr(kTimestampPrefix);
}

}  // namespace

TEST_SUITE_BEGIN("logfmt");

TEST_CASE("logfmt: a line has ts, level, svc, msg, then the fields in order, ending in LF") {
  Logger logger("notify");
  CHECK(without_timestamp(
            logger.format("info", "listening", {{"port", 40123}, {"addr", "127.0.0.1"}})) ==
        "level=info svc=notify msg=listening port=40123 addr=127.0.0.1\n");
  CHECK(without_timestamp(Logger("message").format("warn", "retrying", {})) ==
        "level=warn svc=message msg=retrying\n");
}

TEST_CASE("logfmt: values are quoted and escaped only when they need it") {
  Logger logger("t");
  auto fields = [&logger](std::string_view value) {
    std::string line = without_timestamp(logger.format("info", "m", {{"k", value}}));
    return line.substr(std::string_view("level=info svc=t msg=m ").size());
  };
  CHECK(fields("plain") == "k=plain\n");
  CHECK(fields("caf\xC3\xA9") == "k=caf\xC3\xA9\n");
  CHECK(fields("/messages?x=1") == "k=\"/messages?x=1\"\n");
  CHECK(fields("") == "k=\"\"\n");
  CHECK(fields("two words") == "k=\"two words\"\n");
  CHECK(fields("say \"hi\"") == "k=\"say \\\"hi\\\"\"\n");
  CHECK(fields("back\\slash") == "k=\"back\\\\slash\"\n");
  CHECK(fields("line\nbreak") == "k=\"line\\nbreak\"\n");
  CHECK(fields("cr\rtab\t") == "k=\"cr\\rtab\\t\"\n");
  CHECK(fields(std::string_view("bell\x07", 5)) == "k=\"bell\\u0007\"\n");
  // The message is quoted by the same rules.
  CHECK(without_timestamp(logger.format("error", "it failed", {})) ==
        "level=error svc=t msg=\"it failed\"\n");
}

TEST_CASE("logfmt: numeric fields") {
  Logger logger("t");
  CHECK(without_timestamp(
            logger.format("info", "m", {{"n", int64_t{-42}}, {"u", size_t{7}}, {"d", 1.23456}})) ==
        "level=info svc=t msg=m n=-42 u=7 d=1.235\n");
}

TEST_SUITE_END();

}  // namespace relay
