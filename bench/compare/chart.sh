#!/usr/bin/env bash
# Draws bench/compare's medians as one SVG on stdout (no network, no libraries): deliveries/s in
# the thr-N scenarios and p99 in the lat-N scenarios, ours against nchan; p99 at 1,000 x 100 msg/s
# next to its floors; durable POST/s and idle RSS per stream.
#
#   bash bench/compare/chart.sh RESULTS_DIR FLOOR_SIZE SIZE...   (RESULTS_DIR: run.sh's per-run
#                                                                  JSON reports, e.g. its --out)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../common.sh"
# shellcheck disable=SC2034  # median_of (common.sh) reads $results
results="$1" floor="$2"
shift 2
sizes=("$@")
big="${sizes[-1]}"
{
  for n in "${sizes[@]}"; do
    for server in ours nchan; do
      printf 'thr\t%s\t%s\t%s\n' "$n" "$server" "$(median_of "$server" "thr-$n" deliveries_per_s)"
      printf 'lat\t%s\t%s\t%s\n' "$n" "$server" "$(median_of "$server" "lat-$n" latency_p99_ms)"
    done
  done
  printf 'floor\tkernel floor\tp99\t%s\n' "$(median_of kernel "floor-$floor" latency_p99_ms)"
  printf 'floor\tdurable floor\tp99\t%s\n' "$(median_of durable "floor-$floor" latency_p99_ms)"
  printf 'floor\tours, /notify only\tp99\t%s\n' "$(median_of ours "floor-$floor" latency_p99_ms)"
  printf 'floor\tours, real path\tp99\t%s\n' "$(median_of ours "lat-$floor" latency_p99_ms)"
  printf 'floor\tnchan\tp99\t%s\n' "$(median_of nchan "lat-$floor" latency_p99_ms)"
  for server in ours nchan; do
    printf 'post\tPOST/s, 64 publishers\t%s\t%s\n' "$server" "$(median_of "$server" post-64 publish_rate)"
    printf 'rss\tidle RSS per stream at %s\t%s\t%s\n' "$big" "$server" \
      "$(median_of "$server" "lat-$big" server_rss_kb_per_subscriber)"
  done
} | awk -F '\t' -v floor="$floor" -f "$here/../svg.awk" -f "$here/chart.awk"
