// The doctest entry point of unit_tests; the test cases live in the *_test.cc files beside it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
