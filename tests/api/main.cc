// The doctest entry point of api_tests (`ctest -L api`); the cases are in *_test.cc beside it.
#define DOCTEST_CONFIG_IMPLEMENT_WITH_MAIN
#include <doctest/doctest.h>
