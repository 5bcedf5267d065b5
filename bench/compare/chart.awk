# bench/compare/chart.sh's layout: reads "PANEL<TAB>CATEGORY<TAB>SERIES<TAB>VALUE" lines (a value
# of "-" is no bar) and draws five panels with bench/svg.awk.
function add(panel, cat, ser, v,    c, s) {
  if (!((panel, "c", cat) in index_of)) { index_of[panel, "c", cat] = ++ncat[panel]; cats[panel, ncat[panel]] = cat }
  if (!((panel, "s", ser) in index_of)) { index_of[panel, "s", ser] = ++nser[panel]; sers[panel, nser[panel]] = ser }
  c = index_of[panel, "c", cat]
  s = index_of[panel, "s", ser]
  if (v ~ /^-?[0-9.eE+-]+$/) vals[panel, c, s] = v + 0
}
function draw(panel, x, y, w, h, title, unit, logscale, colors,    i, j, pc, ps, pv) {
  split("", pc); split("", ps); split("", pv)
  for (i = 1; i <= ncat[panel]; i++) pc[i] = cats[panel, i]
  for (j = 1; j <= nser[panel]; j++) ps[j] = sers[panel, j]
  for (i = 1; i <= ncat[panel]; i++)
    for (j = 1; j <= nser[panel]; j++)
      if ((panel, i, j) in vals) pv[i, j] = vals[panel, i, j]
  svg_grouped(x, y, w, h, title, unit, logscale, ncat[panel], pc, nser[panel], ps, colors, pv)
}
{ add($1, $2, $3, $4) }
END {
  two[1] = "#2a6fdb"; two[2] = "#e08a2c"
  # The floor panel: one series per category, so each bar is a category of its own colour.
  one[1] = "#2a6fdb"
  svg_begin(900, 860)
  draw("thr", 20, 40, 420, 250, "deliveries/s, thr-N (as fast as 8 publishers go)", "/s", 0, two)
  draw("lat", 460, 40, 420, 250, "p99 latency, lat-N (100 msg/s)", "ms", 1, two)
  draw("floor", 20, 340, 860, 230, "p99 at " floor " subscribers x 100 msg/s and its floors, same run (target 5 ms)", "ms", 0, one)
  draw("post", 20, 620, 420, 220, "POST/s: ours durable, nchan in memory", "/s", 0, two)
  draw("rss", 460, 620, 420, 220, "RSS per idle stream, server processes summed", "KB", 0, two)
  svg_end()
}
