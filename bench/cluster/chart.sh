#!/usr/bin/env bash
# Draws bench/cluster's medians as one SVG on stdout (no network, no libraries): deliveries/s and
# p99 latency against subscribers for three notify-services on Redis and for one pair, and the
# bus's cost at 1,000 subscribers (BROKER=direct against BROKER=redis).
#
#   bash bench/cluster/chart.sh OUT_DIR SIZE... [-- PAIR_SIZE...]
#                                   (OUT_DIR holds run.sh's <point>-run<k>.tsv)
set -euo pipefail
out="$1"
shift
median() {
  for f in "$out/$1"-run*.tsv; do cut -f "$2" "$f"; done | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print 0; else print v[int((NR+1)/2)]}'
}
rows=""
kind=scale
for size in "$@"; do
  [ "$size" = -- ] && { kind=pair; continue; }
  rows+="$kind $size $(median "$kind-$size" 3) $(median "$kind-$size" 5)"$'\n'
done
for broker in direct redis; do
  rows+="cost $broker $(median "cost-$broker" 3) $(median "cost-$broker" 5)"$'\n'
done
here="$(cd "$(dirname "$0")" && pwd)"
printf '%s' "$rows" | awk -f "$here/../svg.awk" -f "$here/chart.awk"
