// Unit tests of shared/time_format.h.

#include "shared/time_format.h"

#include <regex>

#include <doctest/doctest.h>

namespace relay {

TEST_SUITE_BEGIN("time_format");

TEST_CASE("time_format: format_rfc3339_ms writes UTC with milliseconds") {
  CHECK(format_rfc3339_ms(0) == "1970-01-01T00:00:00.000Z");
  CHECK(format_rfc3339_ms(1) == "1970-01-01T00:00:00.001Z");
  CHECK(format_rfc3339_ms(999) == "1970-01-01T00:00:00.999Z");
  CHECK(format_rfc3339_ms(1000) == "1970-01-01T00:00:01.000Z");
  CHECK(format_rfc3339_ms(1700000000123) == "2023-11-14T22:13:20.123Z");
  CHECK(format_rfc3339_ms(951782400000) == "2000-02-29T00:00:00.000Z");
  CHECK(format_rfc3339_ms(253402300799999) == "9999-12-31T23:59:59.999Z");
  CHECK(format_rfc3339_ms(-1) == "1969-12-31T23:59:59.999Z");
  CHECK(format_rfc3339_ms(-1000) == "1969-12-31T23:59:59.000Z");
}

TEST_CASE("time_format: now_unix_ms is the current time") {
  int64_t now = now_unix_ms();
  CHECK(now > 1700000000000);  // after 2023-11-14
  CHECK(now < 4102444800000);  // before 2100
  static const std::regex kShape(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)");
  CHECK(std::regex_match(format_rfc3339_ms(now), kShape));
}

TEST_SUITE_END();

}  // namespace relay
