#!/usr/bin/env bash
# Draws bench/cluster's medians as one SVG on stdout (no network, no libraries): deliveries/s and
# p99 latency against subscribers for three notify-services on Redis, and the bus's cost at 1,000
# subscribers (BROKER=direct against BROKER=redis).
#
#   bash bench/cluster/chart.sh OUT_DIR SIZE...     (OUT_DIR holds run.sh's <point>-run<k>.tsv)
set -euo pipefail
out="$1"
shift
median() {
  for f in "$out/$1"-run*.tsv; do cut -f "$2" "$f"; done | sort -g |
    awk '{v[NR]=$1} END {if (NR==0) print 0; else print v[int((NR+1)/2)]}'
}
rows=""
for size in "$@"; do
  rows+="scale $size $(median "scale-$size" 3) $(median "scale-$size" 5)"$'\n'
done
for broker in direct redis; do
  rows+="cost $broker $(median "cost-$broker" 3) $(median "cost-$broker" 5)"$'\n'
done
printf '%s' "$rows" | awk '
function panel_frame(x, y, w, h, title) {
  printf "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#999\"/>\n", x, y, w, h
  printf "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", x, y - 10, title
}
function line_panel(x, y, w, h, title, unit, col,    i, maxv, px, py, prev) {
  panel_frame(x, y, w, h, title)
  maxv = 0
  for (i = 1; i <= n; i++) if (val[i, col] > maxv) maxv = val[i, col]
  if (maxv <= 0) maxv = 1
  prev = ""
  for (i = 1; i <= n; i++) {
    px = x + 70 + (w - 140) * (n == 1 ? 0.5 : (i - 1) / (n - 1))
    py = y + h - 30 - (h - 60) * val[i, col] / maxv
    if (prev != "") printf "<line %s x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2a6fdb\" stroke-width=\"2\"/>\n", prev, px, py
    prev = sprintf("x1=\"%.1f\" y1=\"%.1f\"", px, py)
    printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"#2a6fdb\"/>\n", px, py
    printf "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", px, py - 8, fmt(val[i, col], unit)
    printf "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", px, y + h - 10, label[i]
  }
}
function fmt(v, unit) {
  if (unit == "/s") return v >= 1e6 ? sprintf("%.2f M/s", v / 1e6) : sprintf("%.0f k/s", v / 1e3)
  return sprintf("%.1f ms", v)
}
function bar_panel(x, y, w, h, title, unit, col,    i, maxv, bx, bh) {
  panel_frame(x, y, w, h, title)
  maxv = 0
  for (i = 1; i <= m; i++) if (cost[i, col] > maxv) maxv = cost[i, col]
  if (maxv <= 0) maxv = 1
  for (i = 1; i <= m; i++) {
    bx = x + 30 + (i - 1) * (w - 60) / m
    bh = (h - 60) * cost[i, col] / maxv
    printf "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", bx, y + h - 30 - bh, (w - 60) / m - 20, bh, i == 1 ? "#888" : "#d9534f"
    printf "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", bx + ((w - 60) / m - 20) / 2, y + h - 34 - bh, fmt(cost[i, col], unit)
    printf "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", bx + ((w - 60) / m - 20) / 2, y + h - 10, "BROKER=" costlabel[i]
  }
}
$1 == "scale" { n++; label[n] = $2 " subscribers"; val[n, 1] = $3; val[n, 2] = $4 }
$1 == "cost" { m++; costlabel[m] = $2; cost[m, 1] = $3; cost[m, 2] = $4 }
END {
  print "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"560\" font-family=\"sans-serif\">"
  print "<rect width=\"900\" height=\"560\" fill=\"white\"/>"
  line_panel(20, 40, 420, 230, "3 notify-services on Redis: deliveries/s", "/s", 1)
  line_panel(460, 40, 420, 230, "3 notify-services on Redis: p99 latency", "ms", 2)
  bar_panel(20, 320, 420, 220, "1,000 subscribers, one instance: deliveries/s", "/s", 1)
  bar_panel(460, 320, 420, 220, "1,000 subscribers, one instance: p99 latency", "ms", 2)
  print "</svg>"
}'
