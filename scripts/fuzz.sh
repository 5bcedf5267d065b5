#!/usr/bin/env bash
# Builds the libFuzzer targets (fuzz/, with clang-14, ASan + UBSan) in build-fuzz/ and runs each
# for SECONDS (default 60; `scripts/fuzz.sh 3600` for a long run), two at a time on two cores.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]     e.g. bash scripts/fuzz.sh 600 fuzz_sse_parser
#
# For each target it first replays fuzz/regressions/<target>/ (inputs that once crashed; any
# failure stops the run), then fuzzes a writable copy of fuzz/corpus/<target>/ kept in
# build-fuzz/corpus/<target>/ (new inputs go there, never into the repository; it grows across
# runs), with fuzz/<target>.dict when there is one. It prints executions, exec/s, coverage (cov:
# edges, ft: features) and corpus size per target, and exits non-zero if any target crashed,
# leaked, timed out (-timeout=10 per input), ran out of memory (-rss_limit_mb=2048), ran no input
# or did not stop within SECONDS + 60 s. A crashing input is saved in
# build-fuzz/artifacts/<target>/; the summary says how to replay it. Once it is understood and fixed, copy it into
# fuzz/regressions/<target>/ so every later run replays it.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-60}"
shift || true
if ! [[ "$seconds" =~ ^[0-9]+$ ]] || [ "$seconds" -lt 1 ]; then
  echo "usage: scripts/fuzz.sh [SECONDS] [TARGET...]" >&2
  exit 2
fi
build="${RELAY_FUZZ_BUILD_DIR:-build-fuzz}"
jobs="$(nproc)"

if ! command -v clang++-14 >/dev/null 2>&1; then
  echo "fuzz: clang++-14 is missing: run bash scripts/install-deps.sh --tests" >&2
  exit 2
fi

echo "=== fuzz: configure and build ($build)"
CC=clang-14 CXX=clang++-14 cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DRELAY_FUZZ=ON -DBUILD_TESTING=OFF >/dev/null
cmake --build "$build" -j"$jobs"

mapfile -t targets < <(grep -v '^$' "$build/fuzz/targets.txt")
# Every fuzz/fuzz_*.cc must be a configured target: none may drop out of the suite unnoticed.
for source in fuzz/fuzz_*.cc; do
  name="$(basename "$source" .cc)"
  if ! grep -qx "$name" "$build/fuzz/targets.txt"; then
    echo "fuzz: $source is not a target in fuzz/CMakeLists.txt" >&2
    exit 1
  fi
done
if [ $# -gt 0 ]; then
  wanted=("$@")
  targets=()
  for name in "${wanted[@]}"; do
    if ! grep -qx "$name" "$build/fuzz/targets.txt"; then
      echo "fuzz: no target $name (configured: $(tr '\n' ' ' <"$build/fuzz/targets.txt"))" >&2
      exit 2
    fi
    targets+=("$name")
  done
fi

# Each run is bounded: libFuzzer stops itself after -max_total_time, and `timeout` ends a run that
# does not (a hang outside an input, a slow start on a huge corpus) a minute later; that counts as
# a failure too.
limit=$((seconds + 60))

# libFuzzer reports what it finds; the sanitizers must stop at the first error.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

echo "=== fuzz: replaying fuzz/regressions"
for target in "${targets[@]}"; do
  shopt -s nullglob
  cases=(fuzz/regressions/"$target"/*)
  shopt -u nullglob
  [ ${#cases[@]} -eq 0 ] && continue
  if ! timeout -k 10 "$limit" "$build/fuzz/$target" -timeout=10 -rss_limit_mb=2048 "${cases[@]}" \
    >"$build/fuzz/$target.regressions.log" 2>&1; then
    echo "fuzz: $target fails on a regression input (see $build/fuzz/$target.regressions.log):" >&2
    grep -E "Running:|ERROR|invariant" "$build/fuzz/$target.regressions.log" | tail -5 >&2 || true
    exit 1
  fi
  echo "$target: ${#cases[@]} regression inputs pass"
done

run_target() {  # target: fuzzes it for $seconds; output in <target>.log, exit code in .status
  local target="$1"
  local corpus="$build/corpus/$target" artifacts="$build/artifacts/$target"
  mkdir -p "$corpus" "$artifacts"
  cp -n fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null || true
  local args=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10 -rss_limit_mb=2048
              -artifact_prefix="$artifacts/")
  [ -f "fuzz/$target.dict" ] && args+=(-dict="fuzz/$target.dict")
  local rc=0
  timeout -k 10 "$limit" "$build/fuzz/$target" "${args[@]}" "$corpus" >"$build/fuzz/$target.log" \
    2>&1 || rc=$?
  echo "$rc" >"$build/fuzz/$target.status"
}

echo "=== fuzz: ${#targets[@]} targets, ${seconds} s each, $jobs at a time"
for target in "${targets[@]}"; do
  rm -f "$build/fuzz/$target.status"
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n || true; done
  run_target "$target" &
done
wait

failed=0
printf '%-20s %11s %8s %6s %7s %20s  %s\n' target executions exec/s cov ft corpus result
for target in "${targets[@]}"; do
  log="$build/fuzz/$target.log"
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  rate="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
  last="$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1 || true)"
  cov="$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")"
  ft="$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")"
  files="$(find "$build/corpus/$target" -type f | wc -l)"
  bytes="$(du -sb "$build/corpus/$target" | cut -f1)"
  status="$(cat "$build/fuzz/$target.status" 2>/dev/null || echo 1)"
  result=ok
  if [ "$status" -eq 124 ] || [ "$status" -eq 137 ]; then
    failed=1
    result="FAILED (still running after ${limit} s: stopped)"
  elif [ "$status" -ne 0 ]; then
    failed=1
    result="FAILED ($(grep -oE 'ERROR: libFuzzer: [a-z-]+|ERROR: [A-Za-z]+Sanitizer: [a-z-]+|fuzz invariant violated' "$log" | head -1 || echo "exit $status"))"
  elif [ "${execs:-0}" -eq 0 ]; then
    failed=1
    result="FAILED (ran no input)"
  fi
  printf '%-20s %11s %8s %6s %7s %20s  %s\n' "$target" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "$files files/${bytes}B" "$result"
done

if [ "$failed" -ne 0 ]; then
  echo "fuzz: a target failed; its log is $build/fuzz/<target>.log. Replay the saved input with" >&2
  echo "  $build/fuzz/<target> $build/artifacts/<target>/<crash-…|timeout-…|oom-…|leak-…>" >&2
  echo "then, once fixed, copy it into fuzz/regressions/<target>/." >&2
  exit 1
fi
echo "=== fuzz: every target ran ${seconds} s without a crash, leak, timeout or OOM"
