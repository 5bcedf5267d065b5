// Unit tests for redact_target(): the request target as the access log shows it.
#include <doctest/doctest.h>

#include "shared/http/redaction.h"

namespace relay {

TEST_CASE("redact_target hides the values of credential parameters and keeps everything else") {
  CHECK(redact_target("/events") == "/events");
  CHECK(redact_target("/events?") == "/events?");
  CHECK(redact_target("/events?ticket=abc.def.ghi&channels=general") ==
        "/events?ticket=[redacted]&channels=general");
  CHECK(redact_target("/messages?limit=5&token=t1&access_token=t2&password=p") ==
        "/messages?limit=5&token=[redacted]&access_token=[redacted]&password=[redacted]");
  // Every occurrence, in any case, with the name percent-encoded or '+'-spelled.
  CHECK(redact_target("/events?ticket=a&ticket=b") ==
        "/events?ticket=[redacted]&ticket=[redacted]");
  CHECK(redact_target("/events?TICKET=a&Access_Token=b") ==
        "/events?TICKET=[redacted]&Access_Token=[redacted]");
  CHECK(redact_target("/events?%74icket=a&access%5Ftoken=b") ==
        "/events?%74icket=[redacted]&access%5Ftoken=[redacted]");
  // A name that cannot be decoded might be any of them.
  CHECK(redact_target("/events?%zz=secret&x=1") == "/events?%zz=[redacted]&x=1");
  // Parameters that only look alike, and ones without a value, are kept as sent.
  CHECK(redact_target("/events?tickets=1&ticket&x=ticket%3Dy") ==
        "/events?tickets=1&ticket&x=ticket%3Dy");
  CHECK(redact_target("/events?&&ticket=s&") == "/events?&&ticket=[redacted]&");
}

}  // namespace relay
