// The doctest entry point of integration_tests. It ignores SIGPIPE first: the tests write to
// sockets the services may already have closed (cpp-httplib's client sends without MSG_NOSIGNAL),
// and that must fail the write, not kill the test. Children get SIGPIPE back to the default.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <csignal>

int main(int argc, char** argv) {
  std::signal(SIGPIPE, SIG_IGN);
  doctest::Context context(argc, argv);
  return context.run();
}
