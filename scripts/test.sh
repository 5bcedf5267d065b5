#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite three ways, then fuzzes:
#   1. the normal build (-Wall -Wextra -Werror): unit + integration tests, the relay CLI's tests, the
#      page's module tests (tests/page, node --test), the browser tests (the chat page in headless
#      Chromium; screenshots in build/browser-artifacts) and the API tests (docs/openapi.yaml
#      against the real routers, and linted by Redocly);
#   2. AddressSanitizer + UndefinedBehaviorSanitizer build: unit + integration tests (not the
#      browser or page ones: they would re-test the page, and the services' paths are covered by
#      the rest; nor the API ones: they check a file, the same in every build);
#   3. ThreadSanitizer build: the unit and integration tests (the services run under TSan too;
#      tests/tsan.supp lists the reports that are not ours, each with its reason);
#   4. the libFuzzer targets (clang-14, ASan + UBSan): their regression inputs, then 60 s of fuzzing
#      each (scripts/fuzz.sh; two at a time).
# The sanitizer builds compile at -O1 -g1 (line tables for their stack traces), as their own
# documentation advises, which also halves their build time on two cores. Each phase prints how
# long it took. Exits non-zero if any build or test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

started=$(date +%s)
bash scripts/install-deps.sh --tests
jobs="$(nproc)"

phase_started=$started
phase_done() {  # what finished
  local now
  now=$(date +%s)
  echo "=== $1 in $((now - phase_started)) s"
  phase_started=$now
}

# run_suite NAME DIR LABEL EXCLUDE [cmake args...]: configure, build ($RELAY_TARGETS, default all),
# run the ctest tests with LABEL (empty: all) but not EXCLUDE.
run_suite() {
  local name="$1" dir="$2" label="$3" exclude="$4"
  shift 4
  echo "=== ${name}: configure and build (${dir})"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRELAY_WERROR=ON -DBUILD_TESTING=ON "$@" >/dev/null
  local targets=()
  [ -n "${RELAY_TARGETS:-}" ] && targets=(--target ${RELAY_TARGETS})
  cmake --build "$dir" -j"$jobs" "${targets[@]}"
  phase_done "${name}: built"
  echo "=== ${name}: tests"
  local args=(--test-dir "$dir" -j"$jobs" --output-on-failure --timeout 900 --no-tests=error)
  [ -n "$label" ] && args+=(-L "$label")
  [ -n "$exclude" ] && args+=(-LE "$exclude")
  ctest "${args[@]}"
  phase_done "${name}: tests passed"
}

sanitizer_flags="-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -g1 -DNDEBUG"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export TSAN_OPTIONS="halt_on_error=1:second_deadlock_stack=1:suppressions=$PWD/tests/tsan.supp"
phase_done "dependencies installed"

run_suite "release" build "" "" -DRELAY_REQUIRE_BROWSER_TESTS=ON -DRELAY_REQUIRE_API_LINT=ON
# Sanitizer shadow memory and quarantine inflate RSS several times over; the release suite checks
# the real bound (the stalled-reader test), these only that the bound is not wildly exceeded.
RELAY_TEST_MAX_RSS_MIB=1024 run_suite "asan+ubsan" build-asan "" "browser|page|api" \
  -DRELAY_SANITIZE=address,undefined "$sanitizer_flags"
# Only what the unit and integration tests run (the services, the CLI and the two test programs).
RELAY_TEST_MAX_RSS_MIB=1024 RELAY_TARGETS="unit_tests integration_tests" \
  run_suite "tsan" build-tsan "unit|integration" "" -DRELAY_SANITIZE=thread "$sanitizer_flags"
echo "=== fuzz"
bash scripts/fuzz.sh 60
phase_done "fuzz: passed"

echo "=== all suites passed in $(( $(date +%s) - started )) s"
