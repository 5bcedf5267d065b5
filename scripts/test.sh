#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite three ways, then fuzzes:
#   1. the normal build (-Wall -Wextra -Werror): unit + integration tests, the relay CLI's tests, the
#      page's module tests (tests/page, node --test), the browser tests (the chat page in headless
#      Chromium; screenshots in build/browser-artifacts) and the API tests (docs/openapi.yaml
#      against the real routers, and linted by Redocly);
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: unit + integration tests (not the
#      browser or page ones: they would re-test the page, and the services' paths are covered by
#      the rest; nor the API ones: they check a file, the same in every build);
#   3. ThreadSanitizer build: the unit tests (hub, forwarder and store concurrency);
#   4. the libFuzzer targets (clang-14, ASan + UBSan): their regression inputs, then 60 s of fuzzing
#      each (scripts/fuzz.sh; two at a time, about 6 minutes with the build).
# Exits non-zero if any build or test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh --tests
jobs="$(nproc)"
started=$(date +%s)

run_suite() {  # name, build dir, ctest label (empty = all), label to exclude, extra cmake args...
  local name="$1" dir="$2" label="$3" exclude="$4"
  shift 4
  echo "=== ${name}: configure and build (${dir})"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRELAY_WERROR=ON -DBUILD_TESTING=ON "$@" >/dev/null
  cmake --build "$dir" -j"$jobs"
  echo "=== ${name}: tests"
  local args=(--test-dir "$dir" -j"$jobs" --output-on-failure --timeout 900 --no-tests=error)
  [ -n "$label" ] && args+=(-L "$label")
  [ -n "$exclude" ] && args+=(-LE "$exclude")
  ctest "${args[@]}"
}

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1"

run_suite "release" build "" "" -DRELAY_REQUIRE_BROWSER_TESTS=ON -DRELAY_REQUIRE_API_LINT=ON
# ASan's shadow memory and quarantine inflate RSS several times over; the release suite checks the
# real bound (the stalled-reader test), this one only that the bound is not wildly exceeded.
RELAY_TEST_MAX_RSS_MIB=1024 run_suite "asan+ubsan" build-asan "" "browser|page|api" \
  -DRELAY_SANITIZE=address,undefined
run_suite "tsan" build-tsan "unit" "" -DRELAY_SANITIZE=thread
echo "=== fuzz"
bash scripts/fuzz.sh 60

echo "=== all suites passed in $(( $(date +%s) - started )) s"
