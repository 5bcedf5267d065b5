// Unit tests of shared/http/forwarded_for.h: whose X-Forwarded-For is believed, and which part.

#include "shared/http/forwarded_for.h"

#include <doctest/doctest.h>

namespace relay {

namespace {

HttpRequest with_forwarded_for(const std::string& value) {
  HttpRequest request;
  request.headers.emplace_back("x-forwarded-for", value);
  return request;
}

}  // namespace

TEST_SUITE_BEGIN("forwarded_for");

TEST_CASE("forwarded_for: a trusted proxy's last address is the client, anyone else's is ignored") {
  const std::vector<std::string> trusted = {"127.0.0.1", "::1"};
  CHECK(client_address("127.0.0.1", trusted, with_forwarded_for("203.0.113.7")) == "203.0.113.7");
  CHECK(client_address("::1", trusted, with_forwarded_for("2001:db8::5")) == "2001:db8::5");
  // A client's own claim comes first; the proxy appends what it saw last.
  CHECK(client_address("127.0.0.1", trusted, with_forwarded_for("10.0.0.1, 198.51.100.2")) ==
        "198.51.100.2");
  CHECK(client_address("192.0.2.9", trusted, with_forwarded_for("203.0.113.7")) == "192.0.2.9");
  CHECK(client_address("127.0.0.1", {}, with_forwarded_for("203.0.113.7")) == "127.0.0.1");
  CHECK(client_address("127.0.0.1", trusted, HttpRequest{}) == "127.0.0.1");
  for (const char* junk : {"", "unknown", "203.0.113.7:80", "[2001:db8::5]", "1.2.3.4.5",
                           "203.0.113.7 extra", "10.0.0.1, "}) {
    CAPTURE(junk);
    CHECK(client_address("127.0.0.1", trusted, with_forwarded_for(junk)) == "127.0.0.1");
  }
}

TEST_CASE("forwarded_for: is_ip_address takes addresses only") {
  CHECK(is_ip_address("127.0.0.1"));
  CHECK(is_ip_address("::1"));
  CHECK(is_ip_address("2001:db8::5"));
  CHECK_FALSE(is_ip_address(""));
  CHECK_FALSE(is_ip_address("localhost"));
  CHECK_FALSE(is_ip_address("127.0.0.1:8080"));
  CHECK_FALSE(is_ip_address("127.0.0.1\n"));
}

TEST_SUITE_END();

}  // namespace relay
