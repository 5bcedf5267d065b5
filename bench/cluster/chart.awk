# bench/cluster/chart.sh's panels, drawn with bench/svg.awk: reads "scale SIZE DLV/S P99" (three
# instances), "pair SIZE DLV/S P99" (one pair, drawn at the scale point of the same size) and
# "cost BROKER DLV/S P99" lines.
function line_panel(x, y, w, h, title, unit, col,    i, maxv, px, py, prev, k) {
  svg_frame(x, y, w, h, title)
  maxv = 0
  for (i = 1; i <= n; i++) {
    if (val[i, col] > maxv) maxv = val[i, col]
    if ((i, col) in pairval && pairval[i, col] > maxv) maxv = pairval[i, col]
  }
  if (maxv <= 0) maxv = 1
  for (k = 1; k <= 2; k++) {  # 1: three instances, 2: one pair
    prev = ""
    for (i = 1; i <= n; i++) {
      if (k == 2 && !((i, col) in pairval)) continue
      px = x + 70 + (w - 140) * (n == 1 ? 0.5 : (i - 1) / (n - 1))
      py = y + h - 30 - (h - 60) * (k == 1 ? val[i, col] : pairval[i, col]) / maxv
      if (prev != "") printf "<line %s x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>\n", prev, px, py, colour[k]
      prev = sprintf("x1=\"%.1f\" y1=\"%.1f\"", px, py)
      printf "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"4\" fill=\"%s\"/>\n", px, py, colour[k]
      printf "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\" fill=\"%s\">%s</text>\n", px, py + (k == 1 ? -8 : 16), colour[k], svg_fmt(k == 1 ? val[i, col] : pairval[i, col], unit)
      if (k == 1) printf "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", px, y + h - 10, label[i]
    }
  }
  for (k = 1; k <= 2; k++) {
    printf "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/>\n", x + 10, y + 8 + (k - 1) * 16, colour[k]
    printf "<text x=\"%d\" y=\"%d\" font-size=\"11\">%s</text>\n", x + 24, y + 17 + (k - 1) * 16, legend[k]
  }
}
function bar_panel(x, y, w, h, title, unit, col,    i, maxv, bx, bh) {
  svg_frame(x, y, w, h, title)
  maxv = 0
  for (i = 1; i <= m; i++) if (cost[i, col] > maxv) maxv = cost[i, col]
  if (maxv <= 0) maxv = 1
  for (i = 1; i <= m; i++) {
    bx = x + 30 + (i - 1) * (w - 60) / m
    bh = (h - 60) * cost[i, col] / maxv
    printf "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", bx, y + h - 30 - bh, (w - 60) / m - 20, bh, i == 1 ? "#888" : "#d9534f"
    printf "<text x=\"%.1f\" y=\"%.1f\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", bx + ((w - 60) / m - 20) / 2, y + h - 34 - bh, svg_fmt(cost[i, col], unit)
    printf "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s</text>\n", bx + ((w - 60) / m - 20) / 2, y + h - 10, "BROKER=" costlabel[i]
  }
}
BEGIN {
  colour[1] = "#2a6fdb"; colour[2] = "#555"
  legend[1] = "3 notify-services on Redis"; legend[2] = "one pair, BROKER=direct"
}
$1 == "scale" { n++; label[n] = $2 " subscribers"; size_at[$2] = n; val[n, 1] = $3; val[n, 2] = $4 }
$1 == "pair" && ($2 in size_at) { pairval[size_at[$2], 1] = $3; pairval[size_at[$2], 2] = $4 }
$1 == "cost" { m++; costlabel[m] = $2; cost[m, 1] = $3; cost[m, 2] = $4 }
END {
  svg_begin(900, 560)
  line_panel(20, 40, 420, 230, "deliveries/s against subscribers", "/s", 1)
  line_panel(460, 40, 420, 230, "p99 latency against subscribers", "ms", 2)
  bar_panel(20, 320, 420, 220, "1,000 subscribers, one instance: deliveries/s", "/s", 1)
  bar_panel(460, 320, 420, 220, "1,000 subscribers, one instance: p99 latency", "ms", 2)
  svg_end()
}
